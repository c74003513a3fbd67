import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli-helpers.ts';
import { isDocumentationAddress } from '../core/documentation-addresses.ts';
import { seedDemoFleet } from '../tools/demo/fleet.ts';
import { testDb } from './helpers.ts';

describe('npm run demo', () => {
  it('plays the first story, answers a typed command and a button, and cleans up on Ctrl+C', async () => {
    const before = new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('dozor-demo-')));
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/demo/main.ts'], { cwd: ROOT, env: { ...process.env } });
    let output = '';
    const waitFor = (text: string, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`demo did not show "${text}"; it showed:\n${output.slice(-2000)}`)), timeoutMs);
        const check = () => {
          if (output.includes(text)) {
            clearTimeout(timer);
            child.stdout.off('data', check);
            resolve();
          }
        };
        child.stdout.on('data', check);
        check();
      });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      // The key-lost evening: how bad, since when and the first step on the alert's own line; buttons that name whom.
      await waitFor('🏢 ООО «Ромашка» · Сервер офиса\n🔴 Ключ SenseLock не виден — критично: без ключа ПК перестаёт открывать базы');
      await waitFor('👉 Связаться с сисадмином клиента и попросить удалённый доступ.');
      await waitFor('⏰ Ромашка на 1 ч');
      child.stdin.write('/status Ромашка\n');
      await waitFor('🖥 Сервер офиса — ❌ ');
      child.stdin.write('1\n'); // «🙋 Беру все» under the first alert
      await waitFor('Взято в работу: 2');
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    }
    const after = readdirSync(tmpdir()).filter((d) => d.startsWith('dozor-demo-') && !before.has(d));
    expect(after).toEqual([]);
  });

  it('seeds installations the probes will look at: no documentation names (they are never probed), so the cloud DNS story plays', async () => {
    const t = await testDb();
    try {
      const installations = await seedDemoFleet(t.db, () => new Date(), 8080);
      const hosts = installations.map((i) => i.host).filter((host): host is string => host !== null);
      expect(hosts.length).toBeGreaterThanOrEqual(3);
      expect(hosts.filter(isDocumentationAddress)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
