#!/usr/bin/env node
// The command-line tool runs the TypeScript sources directly: no build step after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
