import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'dzr_';
/** Fleet upload tokens look different, so a person can tell which is which. */
const UPLOAD_PREFIX = 'dzu_';

/** A new agent token: 32 random bytes, URL-safe. Shown once; only its hash is kept. */
export function newAgentToken(): { token: string; hash: string } {
  const token = PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: hashAgentToken(token) };
}

/** A new fleet upload token, made and kept as agent tokens are. */
export function newUploadToken(): { token: string; hash: string } {
  const token = UPLOAD_PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: hashAgentToken(token) };
}

/**
 * Tokens carry 256 bits of entropy, so a plain SHA-256 is enough to make the
 * stored value useless to a thief; a slow password hash would only slow intake.
 */
export function hashAgentToken(token: string): string {
  return hash('sha256', token, 'hex');
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
