import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** docs/nginx.conf, the balancer set-up distributors install, run as it is by the tests (rewritten for addresses and paths only). */
export const NGINX_CONF = fileURLToPath(new URL('../docs/nginx.conf', import.meta.url));
/** Debian's nginx package puts the binary in /usr/sbin, which a normal user's PATH may lack; `.ci/run` installs it. */
export const NGINX = [process.env.NGINX_PATH, '/usr/sbin/nginx', 'nginx'].find((path) => path && spawnSync(path, ['-v']).status === 0);
export const NGINX_SKIPPED = 'skipped: no nginx binary (apt-get install nginx, as .ci/run does, or set NGINX_PATH)';

export async function freePort(): Promise<number> {
  const server = createTcpServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** Replaces what `pattern` finds in docs/nginx.conf, which must be there `count` times. */
function rewrite(text: string, pattern: RegExp, replace: (index: number) => string, count = 1): string {
  let index = 0;
  const result = text.replace(pattern, () => replace(index++));
  if (index !== count) throw new Error(`docs/nginx.conf: expected ${count} of ${pattern}, found ${index}`);
  return result;
}

/** A self-signed certificate for dozor.example.ru in `dir` (cert.pem, key.pem); the certificate's text, for clients to trust. */
export function makeCertificate(dir: string): string {
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=dozor.example.ru', '-addext', 'subjectAltName=DNS:dozor.example.ru', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make a test certificate: ${made.error?.message ?? made.stderr}`);
  return readFileSync(join(dir, 'cert.pem'), 'utf8');
}

export interface RunningNginx {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * nginx with docs/nginx.conf in front of two dozor instances listening on 127.0.0.1 at `upstreamPorts`, serving TLS on
 * a free port of 127.0.0.1 with the certificate `makeCertificate(dir)` made; `keepaliveSeconds` replaces the 60 s
 * upstream idle timeout where a test needs it shorter.
 */
export async function startNginx(dir: string, upstreamPorts: readonly number[], options: { keepaliveSeconds?: number } = {}): Promise<RunningNginx> {
  const port = await freePort();
  let site = readFileSync(NGINX_CONF, 'utf8');
  site = rewrite(site, /^ *server \S+:\d+/gm, (i) => `    server 127.0.0.1:${upstreamPorts[i]}`, 2);
  site = rewrite(site, /listen 443 ssl;/g, () => `listen 127.0.0.1:${port} ssl;`);
  site = rewrite(site, /ssl_certificate \S+;/g, () => `ssl_certificate ${join(dir, 'cert.pem')};`);
  site = rewrite(site, /ssl_certificate_key \S+;/g, () => `ssl_certificate_key ${join(dir, 'key.pem')};`);
  if (options.keepaliveSeconds !== undefined) site = rewrite(site, /keepalive_timeout 60s;/g, () => `keepalive_timeout ${options.keepaliveSeconds}s;`);
  writeFileSync(join(dir, 'dozor.conf'), site);
  // What Debian's /etc/nginx/nginx.conf provides around conf.d/, with this test's paths; one worker, so one
  // cache of upstream connections.
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${join(dir, kind)};`).join(' ');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${process.getuid?.() === 0 ? `user ${userInfo().username};\n` : ''}daemon off;\nworker_processes 1;\npid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')} info;\n` +
      `events { worker_connections 256; }\nhttp { access_log ${join(dir, 'access.log')}; ${temp} include ${join(dir, 'dozor.conf')}; }\n`,
  );
  const child = spawn(NGINX!, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null || tries > 250) {
      await stop();
      throw new Error(`nginx did not start: ${stderr}${readFileSync(join(dir, 'error.log'), { encoding: 'utf8', flag: 'a+' })}`);
    }
    const up = await new Promise<boolean>((resolve) => {
      const probe = connectTcp({ host: '127.0.0.1', port }, () => resolve(true));
      probe.once('error', () => resolve(false));
      probe.once('connect', () => probe.destroy());
    });
    if (up) return { port, child, stop };
    await new Promise((done) => setTimeout(done, 20));
  }
}
