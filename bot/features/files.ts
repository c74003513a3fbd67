import { join } from 'node:path';
import { Composer, InputFile } from 'grammy';
import { getInstallation } from '../../db/installations.ts';
import { findLatestSysinfo } from '../../db/uploads.ts';
import { formatWhen } from '../../i18n/format.ts';
import { DOWNLOAD_LINK_MS, signDownload } from '../../core/download-link.ts';
import { clientsVisibleIn, type BotContext } from '../context.ts';

/** Telegram's limit for a document a bot sends. */
const MAX_DOCUMENT_BYTES = 50 * 1024 * 1024;

/** Files from the field, a tap away: «📎 sysinfo» under a status card sends the installation's latest one. */
export const files = new Composer<BotContext>();

files.callbackQuery(/^si:(\d+)$/, async (ctx) => {
  const { db, settings } = ctx.services;
  const installation = await getInstallation(db, Number(ctx.match[1]));
  const visible = await clientsVisibleIn(ctx);
  if (!installation || (visible !== null && !visible.has(installation.clientId))) return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  const upload = settings.dataDir ? await findLatestSysinfo(db, installation.id) : undefined;
  if (!upload || !settings.dataDir) return ctx.answerCallbackQuery({ text: ctx.t.sysinfoNone, show_alert: true });
  if (upload.size > MAX_DOCUMENT_BYTES) {
    const mb = Math.round(upload.size / 1024 / 1024);
    if (!settings.publicUrl || !settings.downloadKey) return ctx.answerCallbackQuery({ text: ctx.t.sysinfoTooLarge(mb), show_alert: true });
    // Over Telegram's limit: a signed link to this service instead, working for a quarter of an hour.
    const { expires, sig } = signDownload(settings.downloadKey, upload.id, new Date(ctx.services.clock().getTime() + DOWNLOAD_LINK_MS));
    const link = `${settings.publicUrl.replace(/\/+$/, '')}/download/${upload.id}?expires=${expires}&sig=${sig}`;
    await ctx.answerCallbackQuery();
    return ctx.reply(ctx.t.sysinfoLink(installation.name, mb, formatWhen(ctx.lang, upload.receivedAt, ctx.services.clock(), settings.displayTz), link, DOWNLOAD_LINK_MS / 60_000), {
      link_preview_options: { is_disabled: true },
    });
  }
  await ctx.answerCallbackQuery();
  await ctx.replyWithDocument(new InputFile(join(settings.dataDir, upload.path), `${upload.name}.${upload.kind}`), {
    caption: ctx.t.sysinfoCaption(installation.name, formatWhen(ctx.lang, upload.receivedAt, ctx.services.clock(), settings.displayTz)),
  });
});
