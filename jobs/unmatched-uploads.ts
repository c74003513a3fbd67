import { defuse } from '../core/text.ts';
import { readValue, writeValue } from '../db/key-value.ts';
import type { DB } from '../db/open.ts';
import { enqueue, NOTICE } from '../db/outbox.ts';
import { writeTransaction } from '../db/transaction.ts';
import { listNewUnmatchedNames, type NewUnmatchedName } from '../db/uploads.ts';
import { listActiveAdmins } from '../db/users.ts';
import { langOf, texts } from '../i18n/index.ts';

/** The last upload the admins were told about (key_value). */
const CURSOR = 'uploads.unmatched.told-through';
/** Names listed, each with its button, in one summary; the rest are counted. */
export const NAMED_IN_SUMMARY = 5;

/**
 * Every minute: names uploaded under a fleet token that no installation has,
 * first seen since the last run, go to each admin as one message, the names
 * listed (a few, the rest counted) with a «🔗» button each that attaches that
 * name's files. The upload itself writes nothing to the outbox, so fifty new
 * names in a minute are one message, not fifty.
 */
export async function tellAdminsOfUnmatchedUploads(db: DB, now: Date): Promise<{ names: number }> {
  return writeTransaction(db, async () => {
    const after = (await readValue<number>(db, CURSOR)) ?? 0;
    const { names, lastId } = await listNewUnmatchedNames(db, after);
    if (lastId !== after) await writeValue(db, CURSOR, lastId, now);
    if (names.length === 0) return { names: 0 };
    for (const admin of await listActiveAdmins(db)) {
      await enqueue(db, { kind: NOTICE, chatId: admin.telegramId, incidentId: null, payload: summary(names, langOf(admin.language)) }, now);
    }
    return { names: names.length };
  });
}

/** The notice (plain text): one name as a sentence with its button, several as a list with a button per name shown. */
function summary(names: NewUnmatchedName[], lang: ReturnType<typeof langOf>): { text: string; keyboard: { text: string; data: string }[][] } {
  const t = texts(lang).notices;
  // The names are the senders': marks that reorder or hide text are shown as �.
  const fileOf = (n: NewUnmatchedName) => defuse(`${n.name}.${n.kind}`);
  const labelOf = (n: NewUnmatchedName) => defuse(n.label ?? '?');
  if (names.length === 1) {
    const only = names[0]!;
    return { text: t.uploadUnmatched(fileOf(only), defuse(only.name), labelOf(only)), keyboard: [[{ text: t.attachUploadButton, data: `upn:${only.uploadId}` }]] };
  }
  const shown = names.slice(0, NAMED_IN_SUMMARY);
  const text = [
    t.uploadsUnmatchedTitle(names.length),
    ...shown.map((n) => t.uploadUnmatchedLine(fileOf(n), labelOf(n), n.files)),
    ...(names.length > shown.length ? [t.alertsUnmatchedMore(names.length - shown.length)] : []),
    t.uploadsUnmatchedHint,
  ].join('\n');
  const keyboard = shown.map((n) => [{ text: `🔗 ${defuse(n.name).slice(0, 40)}`, data: `upn:${n.uploadId}` }]);
  return { text, keyboard };
}
