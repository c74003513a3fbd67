/**
 * A real SMTP server in a process of its own (the `smtp-server` library), for
 * tests that send dozor's mail: STARTTLS on a self-signed certificate, AUTH
 * with one user, and every message it accepts written as a .eml file into a
 * folder. Started by test/smtp-helpers.ts with its settings in the
 * environment; it prints «listening <port>» when it is ready. SMTP_SECURE=1
 * speaks TLS from the first byte (as port 465 does) instead of STARTTLS.
 *
 * SMTP_MODE: `ok`; `refuse-4xx-once` (the first message is answered 451, the
 * next accepted); `refuse-5xx` (every recipient answered 550);
 * `refuse-sender` (the sender answered 553, as a relay that does not allow
 * MAIL_FROM). In every
 * mode, mailboxes at gone.example.ru do not exist (550), as a real server
 * refuses an address it does not know while others go through.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

const { SMTP_KEY, SMTP_CERT, SMTP_USER = 'dozor', SMTP_PASS = 'secret', SMTP_DIR, SMTP_MODE = 'ok', SMTP_SECURE } = process.env;
if (!SMTP_KEY || !SMTP_CERT || !SMTP_DIR) throw new Error('SMTP_KEY, SMTP_CERT and SMTP_DIR are needed');

let received = 0;
let refusedOnce = false;

const server = new SMTPServer({
  secure: SMTP_SECURE === '1',
  key: SMTP_KEY,
  cert: SMTP_CERT,
  authMethods: ['PLAIN', 'LOGIN'],
  // A login only over TLS, as real servers require.
  allowInsecureAuth: false,
  onAuth(auth, _session, callback) {
    if (auth.username === SMTP_USER && auth.password === SMTP_PASS) return callback(null, { user: auth.username });
    return callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
  },
  onMailFrom(address, _session, callback) {
    if (SMTP_MODE === 'refuse-sender') return callback(Object.assign(new Error(`Sender ${address.address} not allowed to relay`), { responseCode: 553 }));
    return callback();
  },
  onRcptTo(address, _session, callback) {
    if (SMTP_MODE === 'refuse-5xx' || address.address.endsWith('@gone.example.ru')) return callback(Object.assign(new Error(`Mailbox ${address.address} unavailable`), { responseCode: 550 }));
    return callback();
  },
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      if (SMTP_MODE === 'refuse-4xx-once' && !refusedOnce) {
        refusedOnce = true;
        return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
      }
      received++;
      const to = session.envelope.rcptTo.map((r) => r.address).join(',');
      writeFileSync(join(SMTP_DIR, `${String(received).padStart(4, '0')}.eml`), Buffer.concat(chunks));
      writeFileSync(join(SMTP_DIR, `${String(received).padStart(4, '0')}.to`), to);
      return callback(null, `Ok: queued as test-${received}`);
    });
  },
  logger: false,
});

// A client that gives up in the middle (a certificate it does not trust, on a TLS-first port) ends its own connection, not the server.
server.on('error', () => undefined);

server.listen(0, '127.0.0.1', () => {
  const address = server.server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
