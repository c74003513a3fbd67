import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { hashAgentToken, hashesEqual } from '../core/agent-token.ts';
import type { Clock } from '../core/clock.ts';
import { findInstallationByTokenHash } from '../db/installations.ts';
import type { DB } from '../db/open.ts';
import { noteUnreadableMetrics, saveMetricsSnapshot } from '../db/metrics-snapshots.ts';
import { findInstallationByUploadName, findLatestUpload, findUploadTokenByHash, insertUpload, lastOwnAgentReportAt, type UploadKind } from '../db/uploads.ts';
import { writeTransaction } from '../db/transaction.ts';
import { defuse, UNSAFE_CHARS } from '../core/text.ts';
import { fleetRefusal } from '../core/fleet-limits.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import type { ReportFacts } from '../core/report.ts';
import type { FailureCounter } from '../core/failure-limiter.ts';
import { ArchiveRefused, checkArchive } from './archive-check.ts';
import { ingestInTransaction } from './ingest.ts';
import { lingerForUnreadBody } from './unread-body.ts';
import { readSysinfoFacts, type SysinfoMappingInUse } from './sysinfo-facts.ts';
import { MAX_METRICS_BYTES, readMetricsFile } from './read-metrics.ts';
import { discardFile, keepFile, placeFor, receiveFile } from '../db/upload-files.ts';
import {
  DEFAULT_UPLOAD_LIMITS,
  formatBytes,
  freeBytesAt,
  noteAcceptedForSpace,
  noteRefusedForSpace,
  QUOTA_RETRY_SECONDS,
  quotaRefusal,
  SPACE_RETRY_SECONDS,
  spaceRefusal,
  type UploadLimits,
} from './upload-limits.ts';

export interface UploadDeps {
  db: DB;
  clock: Clock;
  settings: IncidentSettings;
  /** Where files are kept (`uploads/` under it). */
  dataDir: string;
  maxBytes: number;
  /** The intake's limit on invalid tokens per address, shared: a bad token here counts there too. */
  failures: FailureCounter;
  onIncidentChange?: () => void;
  /** The sysinfo mapping in force; without it (or with an empty one) a sysinfo is kept and counted, not read. */
  sysinfo?: SysinfoMappingInUse | undefined;
  /** The free-space reserve and the daily quotas; the defaults without it. */
  limits?: UploadLimits | undefined;
  /** Free bytes on the disk of a folder (tests stand in a full disk); `statfs` without it. */
  freeBytes?: ((dir: string) => Promise<number>) | undefined;
}

const KINDS: Record<string, UploadKind> = { zip: 'zip', xml: 'xml', status: 'status' };

/** Who an upload comes from: an installation by its own agent token, or a distributor's fleet token (the file's name says which installation). */
type Uploader =
  | { kind: 'agent'; installation: { id: number; tz: string } }
  | { kind: 'fleet'; tokenId: number; label: string; names: string[] | null; networks: string[] | null };

/** A file name as SMART's scripts send it: no folders, no control characters or invisible marks that reorder text; its base name and kind. */
function readFileName(raw: string): { file: string; name: string; kind: UploadKind | null } | null {
  const file = raw.split(/[\\/]/).at(-1)!.trim();
  if (file.length === 0 || file.length > 200 || UNSAFE_CHARS.test(file)) return null;
  const dot = file.lastIndexOf('.');
  if (dot <= 0) return { file, name: file, kind: null };
  return { file, name: file.slice(0, dot), kind: KINDS[file.slice(dot + 1).toLowerCase()] ?? null };
}

/** What a file under a fleet token whose name no installation has is told: kept, not yet anyone's. */
const unmatchedMessage = (name: string) =>
  `the file is kept, but no installation has the upload name ${name}: it counts once an admin attaches it (dozor uploads assign ${name} <installation>, or the bot's notice); the admins are told`;

/**
 * Uploads as SMART's scripts send them, so a script repointed at dozor works
 * unchanged: `POST /upload?token=…` with the file in the multipart field
 * `file`, and `HEAD`/`GET /files/<name>?token=…` to ask whether a file is
 * there. Every file kept counts as a sign of life from its installation; 200
 * (both routes) means an installation received it, 202 that it is kept under
 * a name no installation has yet.
 */
export function uploadRoutes(deps: UploadDeps): FastifyPluginAsync {
  const { db, clock } = deps;
  const limits = deps.limits ?? DEFAULT_UPLOAD_LIMITS;
  return async (scope) => {
    await scope.register(multipart, {
      limits: { files: 1, fileSize: deps.maxBytes, fields: 10, fieldSize: 1024, parts: 20, headerPairs: 100 },
    });

    // A sysinfo from a client on a slow line may take minutes: its body may take as long as it keeps moving.
    scope.post('/upload', { config: { slowBody: true } }, async (request, reply) => {
      const uploader = await authenticate(request, reply);
      if (!uploader) return reply;
      if (uploader.kind === 'fleet') {
        const refused = fleetRefusal(uploader, null, request.ip);
        if (refused) return refuseUnreadBody(request, reply, 403, refused);
      }
      if (!request.isMultipart()) return reply.code(415).send({ error: 'send the file as multipart/form-data in the field "file" (curl -F file=@NAME.zip)' });
      const part = await request.file();
      if (!part) return reply.code(400).send({ error: 'no file in the request: send it in the field "file"' });
      const named = part.fieldname === 'file' ? readFileName(part.filename) : null;
      if (!named || !named.kind) {
        // The rest of the body is not read.
        part.file.destroy();
        lingerForUnreadBody(request, reply);
        if (!named) return reply.code(400).send({ error: 'the file must come in the field "file", with a file name without control characters or invisible formatting marks' });
        return reply.code(415).send({ error: `${named.file}: dozor takes .zip and .xml (sysinfo) and .status (metrics) files` });
      }
      // Refused before the file is read: a name the fleet token may not send, a disk at its reserve, a quota used up.
      const fleetRefused = uploader.kind === 'fleet' ? fleetRefusal(uploader, named.name, request.ip) : null;
      if (fleetRefused) {
        part.file.destroy();
        return refuseUnreadBody(request, reply, 403, fleetRefused);
      }
      const owner = uploader.kind === 'agent' ? uploader.installation : ((await findInstallationByUploadName(db, named.name)) ?? null);
      const who = { installationId: owner?.id ?? null, uploadTokenId: uploader.kind === 'fleet' ? uploader.tokenId : null };
      const spaceBefore = await freeSpace();
      if (spaceBefore < limits.minFreeBytes) {
        part.file.destroy();
        return refuseForSpace(request, reply, spaceBefore);
      }
      const overBefore = await quotaRefusal(db, limits, who, null, clock());
      if (overBefore) {
        part.file.destroy();
        return refuseUnreadBody(request, reply, 429, overBefore, QUOTA_RETRY_SECONDS);
      }
      // Past the limit the rest of the body is not stored (an endless one would be read until the request timeout): 413, and the connection closed.
      part.file.once('limit', () => part.file.destroy(new FileTooLarge()));
      let received;
      try {
        received = await receiveFile(deps.dataDir, part.file);
      } catch (err) {
        if (err instanceof FileTooLarge) return refuseUnreadBody(request, reply, 413, tooLarge(deps.maxBytes));
        if (isDiskTrouble(err)) throw err;
        // The body itself was wrong: cut short, or not multipart as it said.
        request.log.warn({ reason: (err as Error).message }, 'upload refused: the body was cut short or malformed');
        lingerForUnreadBody(request, reply);
        return reply.code(400).send({ error: `the upload was cut short or is not well-formed multipart (${(err as Error).message}); nothing was kept` });
      }
      if (!received) return refuseUnreadBody(request, reply, 413, tooLarge(deps.maxBytes));
      // With this file in: the reserve still free, the quotas not passed.
      const spaceAfter = await freeSpace();
      const overAfter = spaceAfter < limits.minFreeBytes ? null : await quotaRefusal(db, limits, who, received.size, clock());
      if (spaceAfter < limits.minFreeBytes || overAfter) {
        await discardFile(deps.dataDir, received.temporary);
        return overAfter ? reply.code(429).header('retry-after', String(QUOTA_RETRY_SECONDS)).send({ error: overAfter }) : refuseForSpace(request, reply, spaceAfter);
      }
      if (named.kind === 'zip') {
        try {
          await checkArchive(join(deps.dataDir, received.temporary));
        } catch (err) {
          await discardFile(deps.dataDir, received.temporary);
          if (!(err instanceof ArchiveRefused)) throw err;
          request.log.warn({ name: named.name, reason: err.message }, 'upload refused: the archive');
          return reply.code(400).send({ error: `${named.file}: ${err.message}; nothing was kept` });
        }
      }
      const metrics = named.kind === 'status' ? await readMetricsUpload(join(deps.dataDir, received.temporary), received.size) : null;
      // Read before it is kept (an unmatched file is read when it is attached, by a reparse).
      const sysinfo =
        owner && deps.sysinfo && (named.kind === 'zip' || named.kind === 'xml')
          ? await readSysinfoFacts(deps.sysinfo, join(deps.dataDir, received.temporary), named.kind, owner.tz)
          : null;
      const receivedAt = clock();
      const place = placeFor(owner?.id ?? null, named.kind, receivedAt);
      await keepFile(deps.dataDir, received.temporary, place);
      let outcome;
      try {
        outcome = await writeTransaction(db, async () => {
          const upload = await insertUpload(db, {
            installationId: owner?.id ?? null,
            name: named.name,
            kind: named.kind!,
            path: place,
            size: received.size,
            sha256: received.sha256,
            receivedAt,
            dealer: headerText(request.headers.dealer),
            uploadTokenId: uploader.kind === 'fleet' ? uploader.tokenId : null,
            takenAt: sysinfo?.generatedAt ?? (metrics && 'samples' in metrics ? metrics.takenAt : null),
            reading: sysinfo?.reading ?? null,
          });
          // The admins hear of a name no installation has from the minute's summary (jobs/unmatched-uploads.ts).
          if (owner === null) return null;
          if (metrics && 'samples' in metrics) {
            await saveMetricsSnapshot(db, { installationId: owner.id, takenAt: metrics.takenAt ?? receivedAt, receivedAt, samples: metrics.samples, uploadId: upload.id });
          } else if (metrics) await noteUnreadableMetrics(db, owner.id, metrics.error, receivedAt, upload.id);
          // A file is a sign of life, as a report is, and brings what the mapping reads in a sysinfo
          // (metrics and a sysinfo say when the Kodeks server made them, by its clock).
          const [result] = await ingestInTransaction(db, deps.settings, [
            {
              installationId: owner.id,
              report: { reportId: `upload:${upload.id}`, contentHash: received.sha256.slice(0, 32), formatVersion: 1, generatedAt: upload.takenAt, facts: factsOfUpload(named.kind!, sysinfo?.facts, metrics, uploader.kind === 'agent') },
              receivedAt,
              options: {
                votesOnClock: false,
                evidence: named.kind === 'status' ? 'status' : 'sysinfo',
                ...(uploader.kind === 'fleet' ? { fleet: { label: uploader.label, ownAgentAt: await lastOwnAgentReportAt(db, owner.id) } } : {}),
              },
            },
          ]);
          return result!;
        });
      } catch (err) {
        await discardFile(deps.dataDir, place);
        throw err;
      }
      await noteAcceptedForSpace(db);
      if (outcome && (outcome.opened.length > 0 || outcome.resolved.length > 0)) deps.onIncidentChange?.();
      request.log.info({ installation: owner?.id ?? null, name: named.name, kind: named.kind, size: received.size }, owner ? 'upload stored' : 'upload stored for no installation yet');
      // 200 means an installation received it, as SMART's scripts and pages read it; a file kept for no one yet is 202.
      if (!owner) return reply.code(202).send({ ok: true, path: `/files/${named.file}`, matched: false, message: unmatchedMessage(named.name) });
      return { ok: true, path: `/files/${named.file}` };
    });

    const fileStatus = async (request: FastifyRequest<{ Params: { file: string } }>, reply: FastifyReply) => {
      const uploader = await authenticate(request, reply);
      if (!uploader) return reply;
      const named = readFileName(request.params.file);
      if (!named?.kind) return reply.code(404).send({ error: 'no such file' });
      const installationId = uploader.kind === 'agent' ? uploader.installation.id : ((await findInstallationByUploadName(db, named.name))?.id ?? null);
      const upload = await findLatestUpload(db, { installationId, name: named.name, kind: named.kind });
      if (!upload) return reply.code(404).send({ error: 'no such file' });
      const found = { ok: true, path: `/files/${named.file}`, size: upload.size, receivedAt: upload.receivedAt.toISOString() };
      // SMART's Linux page reads 200 from `curl -I` as success: a file no installation has received is not one.
      if (installationId === null) return reply.code(202).send({ ...found, matched: false, message: unmatchedMessage(named.name) });
      return reply.send(found);
    };
    // Fastify answers HEAD (curl -I, as the scripts ask) from the GET route, without the body.
    scope.get('/files/:file', fileStatus);

    /** An agent token or a fleet upload token, from `?token=` (as SMART's scripts send it) or `Authorization: Bearer`. */
    async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Uploader | null> {
      const query = request.query as Record<string, unknown>;
      const presented = (typeof query.token === 'string' ? query.token : undefined) ?? /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
      const hash = presented ? hashAgentToken(presented) : null;
      const installation = hash ? await findInstallationByTokenHash(db, hash) : undefined;
      if (hash && installation && hashesEqual(installation.tokenHash, hash)) return { kind: 'agent', installation };
      const fleet = hash ? await findUploadTokenByHash(db, hash) : undefined;
      if (hash && fleet && hashesEqual(fleet.tokenHash, hash)) return { kind: 'fleet', tokenId: fleet.id, label: fleet.label, names: fleet.names ?? null, networks: fleet.networks ?? null };
      lingerForUnreadBody(request, reply);
      const verdict = await deps.failures.fail(request.ip, clock().getTime());
      if (verdict.over) {
        request.log.warn({ address: request.ip }, 'too many invalid upload tokens from one address');
        await reply.code(429).header('retry-after', String(verdict.retryAfterSeconds)).send({ error: 'too many requests with invalid tokens; retry later' });
        return null;
      }
      await reply.code(401).send({ error: 'missing or invalid token' });
      return null;
    }

    function freeSpace(): Promise<number> {
      return (deps.freeBytes ?? freeBytesAt)(deps.dataDir);
    }

    /** 507 while the disk is at its reserve; the admins are told once, when refusing starts. */
    async function refuseForSpace(request: FastifyRequest, reply: FastifyReply, free: number): Promise<FastifyReply> {
      request.log.warn({ free, reserve: limits.minFreeBytes }, 'upload refused: the disk is at its reserve (UPLOAD_MIN_FREE)');
      try {
        await noteRefusedForSpace(db, free, limits, clock());
      } catch (err) {
        // Telling the admins is worth a try on a disk this full, not the refusal itself.
        request.log.error({ err }, 'the admins could not be told that uploads are refused for space');
      }
      return refuseUnreadBody(request, reply, 507, spaceRefusal(free, limits), SPACE_RETRY_SECONDS);
    }
  };
}

/** The file passed UPLOAD_MAX_BYTES: the multipart stream is stopped there. */
class FileTooLarge extends Error {
  override readonly name = 'FileTooLarge';
}

const tooLarge = (maxBytes: number) => `the file is larger than ${formatBytes(maxBytes)}, the most dozor takes (UPLOAD_MAX_BYTES); nothing was kept`;

/**
 * Answer without taking the rest of the body: what the sender still sends is
 * dropped and the connection closed once it ends, or cut if it goes on past
 * the linger (intake/unread-body.ts).
 */
function refuseUnreadBody(request: FastifyRequest, reply: FastifyReply, status: number, error: string, retryAfterSeconds?: number): FastifyReply {
  lingerForUnreadBody(request, reply);
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
  return reply.code(status).send({ error });
}

/**
 * What an uploaded file says of the installation: what the mapping read in a
 * sysinfo, and, for a file under the installation's own token, that its
 * Kodeks server was working when it made the file (a sysinfo, or metrics it
 * answered with), unless the file itself says how its service stands. A file
 * under a fleet token may come from any client's machine: it closes nothing
 * by implication.
 */
function factsOfUpload(kind: UploadKind, read: ReportFacts | undefined, metrics: Awaited<ReturnType<typeof readMetricsUpload>> | null, ownToken: boolean): ReportFacts {
  const facts: ReportFacts = { ...read };
  const serverAnswered = ownToken && (kind !== 'status' || (metrics !== null && 'samples' in metrics));
  if (serverAnswered && facts.serviceState === undefined) facts.serviceState = 'running';
  return facts;
}

/** A `.status` file's metrics, or why they cannot be read (the file is kept and counts either way). */
async function readMetricsUpload(path: string, size: number): Promise<ReturnType<typeof readMetricsFile> | { error: string }> {
  if (size > MAX_METRICS_BYTES) return { error: `the file is ${Math.round(size / 1024)} KiB; metrics files over ${MAX_METRICS_BYTES / 1024 / 1024} MiB are not read` };
  try {
    return readMetricsFile(await readFile(path, 'utf8'));
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** A system call failed (the disk is full, say): the service's trouble, answered by the error handler, not the sender's. */
function isDiskTrouble(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'syscall' in err;
}

function headerText(value: string | string[] | undefined): string | null {
  const text = Array.isArray(value) ? value[0] : value;
  const clean = text === undefined ? undefined : defuse(text.replace(/[\t\r\n]/g, ' ')).trim().slice(0, 100);
  return clean ? clean : null;
}
