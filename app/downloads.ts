import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../core/clock.ts';
import { checkDownload } from '../core/download-link.ts';
import type { DB } from '../db/open.ts';
import { getUpload } from '../db/uploads.ts';

export interface DownloadDeps {
  db: DB;
  clock: Clock;
  dataDir: string;
  key: Buffer;
}

const TYPES: Record<string, string> = { zip: 'application/zip', xml: 'application/xml', status: 'text/plain; charset=utf-8' };

/**
 * `GET /download/<id>?expires=…&sig=…`: an uploaded file behind a signed
 * link that works for 15 minutes, for a sysinfo too large for Telegram. The
 * link is the only credential, so it is checked before anything is looked up.
 */
export function downloadRoutes(deps: DownloadDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>('/download/:id', async (request, reply) => {
      const id = /^\d{1,12}$/.test(request.params.id) ? Number(request.params.id) : NaN;
      const verdict = Number.isSafeInteger(id) ? checkDownload(deps.key, id, request.query, deps.clock()) : 'forged';
      if (verdict === 'forged') return reply.code(403).send({ error: 'this link is not valid' });
      if (verdict === 'expired') return reply.code(410).send({ error: 'this link has expired; ask the bot for the file again' });
      const upload = await getUpload(deps.db, id);
      const path = upload ? join(deps.dataDir, upload.path) : null;
      const size = path ? await stat(path).then((s) => s.size, () => null) : null;
      if (!upload || size === null) return reply.code(404).send({ error: 'the file is no longer kept' });
      const file = `${upload.name}.${upload.kind}`;
      const ascii = file.replace(/[^A-Za-z0-9._-]/g, '_');
      return reply
        .header('content-type', TYPES[upload.kind] ?? 'application/octet-stream')
        .header('content-length', String(size))
        .header('content-disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file)}`)
        .header('cache-control', 'no-store')
        .send(createReadStream(path!));
    });
  };
}
