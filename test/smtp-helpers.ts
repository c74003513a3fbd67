import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { ROOT } from './cli-helpers.ts';

export interface TestSmtpServer {
  port: number;
  /** smtp://user:pass@127.0.0.1:<port> (smtps:// when secure), or with another password. */
  url(password?: string): string;
  /** The messages it accepted, parsed, in the order they came, each with its envelope's recipients. */
  received(): Promise<(ParsedMail & { envelopeTo: string })[]>;
  close(): Promise<void>;
}

export type SmtpMode = 'ok' | 'refuse-4xx-once' | 'refuse-5xx' | 'refuse-sender';

/** A self-signed certificate for 127.0.0.1, made with openssl, as a mail server of a distributor might have. */
function certificate(dir: string): { key: string; cert: string } {
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl could not make a test certificate: ${made.error?.message ?? made.stderr}`);
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}

export interface SmtpOptions {
  /** TLS from the first byte (port 465's way, `smtps://`) rather than STARTTLS. */
  secure?: boolean;
  /** The password of its one user, dozor (`secret` unless given). */
  password?: string;
}

/** The SMTP server of test/smtp-server-process.ts, in its own process, with STARTTLS (or TLS from the start) and AUTH (dozor / secret). */
export async function startSmtpServer(mode: SmtpMode = 'ok', options: SmtpOptions = {}): Promise<TestSmtpServer> {
  const dir = mkdtempSync(join(tmpdir(), 'dozor-smtp-'));
  const { key, cert } = certificate(dir);
  const { secure = false, password: own = 'secret' } = options;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/smtp-server-process.ts')], {
    cwd: ROOT,
    env: { ...process.env, SMTP_KEY: key, SMTP_CERT: cert, SMTP_DIR: dir, SMTP_MODE: mode, SMTP_PASS: own, SMTP_SECURE: secure ? '1' : '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the test SMTP server exited (${code}) before listening`)));
  });
  return {
    port,
    url: (password = own) => `${secure ? 'smtps' : 'smtp'}://dozor:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    async received() {
      const names = readdirSync(dir).filter((name) => name.endsWith('.eml')).sort();
      const parsed = [];
      for (const name of names) {
        const mail = await simpleParser(readFileSync(join(dir, name)));
        parsed.push(Object.assign(mail, { envelopeTo: readFileSync(join(dir, name.replace(/\.eml$/, '.to')), 'utf8') }));
      }
      return parsed;
    },
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A server that takes the connection and never says a word: a mail server hung. */
export async function startSilentServer(): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    connections: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A port nothing listens on: a mail server that is down. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}
