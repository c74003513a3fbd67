import Fastify from 'fastify';
import { hashAgentToken, hashesEqual } from '../../core/agent-token.ts';
import { findInstallationByTokenHash } from '../../db/installations.ts';
import { openDb } from '../../db/open.ts';
import { insertReports } from '../../db/reports.ts';
import { parseReport } from '../../intake/parse-report.ts';
import { TokenCache } from '../../intake/token-cache.ts';
import { writeTransaction } from '../../db/transaction.ts';

/**
 * The floor under the intake, for the benchmark: what any intake that keeps
 * the agents' contract must do per report (check the token, read and validate
 * the XML, store the report once under its id, in a transaction per turn of
 * the event loop, tokens remembered and a batch's reports written by one
 * statement as the service does), with the service's own code, and nothing else: no state,
 * no licence days, no rules. Its throughput against the bare endpoint's is the
 * most the intake could reach on this machine. Prints its URL on stdout.
 */
const db = openDb(process.env.DATABASE_PATH!);
let queue: { installationId: number; report: ReturnType<typeof parseReport>; resolve: (id: number | null) => void }[] = [];
let scheduled = false;
const tokens = new TokenCache();

async function flush(): Promise<void> {
  scheduled = false;
  const batch = queue;
  queue = [];
  const now = new Date();
  const ids = await writeTransaction(db, (tx) => insertReports(tx, batch.map((p) => ({ installationId: p.installationId, report: p.report, receivedAt: now }))));
  batch.forEach((p, i) => p.resolve(ids[i]!));
}

const app = Fastify({ logger: false });
app.addContentTypeParser(['application/xml'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/api/v1/reports', async (request, reply) => {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
  const hash = presented ? hashAgentToken(presented) : null;
  const known = hash ? tokens.get(hash) : undefined;
  const owner = known ?? (hash ? await findInstallationByTokenHash(db, hash) : undefined);
  if (!hash || !owner || !hashesEqual(owner.tokenHash, hash)) return reply.code(401).send({ error: 'missing or invalid agent token' });
  if (!known) tokens.remember(owner);
  const report = parseReport(request.body as Buffer, 'xml', { tz: owner.tz });
  const id = await new Promise<number | null>((resolve) => {
    queue.push({ installationId: owner.id, report, resolve });
    if (!scheduled) {
      scheduled = true;
      // A failed batch ends the floor, as a throw in the callback did when the batch was written synchronously.
      setImmediate(
        () =>
          void flush().catch((err: unknown) => {
            process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
            process.exit(1);
          }),
      );
    }
  });
  return reply.code(202).send({ status: id === null ? 'duplicate' : 'stored', installation: owner.id, report: id });
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${url}\n`);
