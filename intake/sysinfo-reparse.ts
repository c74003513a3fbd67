import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { applyFacts } from '../core/state.ts';
import type { UploadReading } from '../core/sysinfo-mapping.ts';
import { recordAudit } from '../db/audit.ts';
import { recheckNow } from '../db/check-schedule.ts';
import { getInstallation } from '../db/installations.ts';
import type { DB } from '../db/open.ts';
import { getState, saveState } from '../db/state.ts';
import { writeTransaction } from '../db/transaction.ts';
import { findLatestSysinfo, getUploadToken, lastOwnAgentReportAt, listInstallationsWithSysinfo, saveUploadReading } from '../db/uploads.ts';
import { readSysinfoFacts, type SysinfoMappingInUse } from './sysinfo-facts.ts';

export interface ReparseDeps {
  db: DB;
  clock: Clock;
  actor: string;
  dataDir: string;
  sysinfo: SysinfoMappingInUse;
}

export interface Reparsed {
  installationId: number;
  uploadId: number;
  reading: UploadReading;
}

/**
 * Read the latest stored sysinfo of each installation (or of one) again with
 * the mapping in force, and put what it gives into the installation's state:
 * the facts change, not when the installation was last heard from. The rules
 * look at each again at the next sweep. One installation at a time: a file is
 * read, then its result written, so memory stays that of one file.
 */
export async function reparseSysinfo(deps: ReparseDeps, installationId?: number): Promise<Reparsed[]> {
  const ids = installationId === undefined ? await listInstallationsWithSysinfo(deps.db) : [installationId];
  const done: Reparsed[] = [];
  for (const id of ids) {
    const upload = await findLatestSysinfo(deps.db, id);
    const installation = await getInstallation(deps.db, id);
    if (!upload || !installation || (upload.kind !== 'zip' && upload.kind !== 'xml')) continue;
    const outcome = await readSysinfoFacts(deps.sysinfo, join(deps.dataDir, upload.path), upload.kind, installation.tz);
    const reading: UploadReading = outcome?.reading ?? { fields: {}, problems: [{ kind: 'noMapping' }] };
    await writeTransaction(deps.db, async () => {
      const now = deps.clock();
      await saveUploadReading(deps.db, upload.id, { takenAt: outcome?.generatedAt ?? null, reading });
      const previous = await getState(deps.db, id);
      if (outcome && previous && Object.keys(outcome.facts).length > 0) {
        // A file that came under a fleet token does not overwrite what the installation's own agent reports (core/state.ts).
        const token = upload.uploadTokenId === null ? undefined : await getUploadToken(deps.db, upload.uploadTokenId);
        const fleet = token ? { label: token.label, ownAgentAt: await lastOwnAgentReportAt(deps.db, id) } : undefined;
        await saveState(deps.db, id, applyFacts(previous, outcome.facts, outcome.generatedAt ?? upload.receivedAt, fleet));
        await recheckNow(deps.db, id, now);
      }
      await recordAudit(deps.db, {
        at: now,
        actor: deps.actor,
        action: 'sysinfo.reparse',
        subjectType: 'installation',
        subjectId: id,
        details: { upload: upload.id, mapping: deps.sysinfo.path, fields: Object.keys(reading.fields) },
      });
    });
    done.push({ installationId: id, uploadId: upload.id, reading });
  }
  return done;
}
