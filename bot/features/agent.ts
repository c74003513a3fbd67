import { Composer, InlineKeyboard, InputFile } from 'grammy';
import { getInstallation } from '../../db/installations.ts';
import { describeError } from '../../i18n/index.ts';
import { InputError } from '../../core/errors.ts';
import { issueAgent, type AgentChoice } from '../../registry/agent.ts';
import { DEFAULT_INSTALL_DIRS } from '../../agent/render.ts';
import { actorOf, isAdminInPrivate, type BotContext } from '../context.ts';
import { escapeHtml } from '../html.ts';


/**
 * «⚙️ Агент» under a status card: an admin, in a private chat, gets the
 * installation's agent script as a document and the line that schedules it,
 * written with the settings last used at the command line.
 */
export const agent = new Composer<BotContext>();

agent.callbackQuery(/^ag:(\d+)$/, async (ctx) => {
  if (!isAdminInPrivate(ctx)) return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  const installation = await getInstallation(ctx.services.db, Number(ctx.match[1]));
  if (!installation) return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  await ctx.answerCallbackQuery();
  const keyboard = new InlineKeyboard()
    .text(ctx.t.agentLinux, `ag:${installation.id}:linux`)
    .text(ctx.t.agentWindows, `ag:${installation.id}:windows`)
    .text(ctx.t.agentBoth, `ag:${installation.id}:both`);
  await ctx.reply(ctx.t.agentChooseOs(installation.name), { reply_markup: keyboard });
});

agent.callbackQuery(/^ag:(\d+):(linux|windows|both)$/, async (ctx) => {
  if (!isAdminInPrivate(ctx)) return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  const { db, clock, settings } = ctx.services;
  if (!settings.publicUrl) return ctx.answerCallbackQuery({ text: ctx.t.agentNoPublicUrl, show_alert: true });
  const os = ctx.match[2] as AgentChoice;
  const stored = await getInstallation(db, Number(ctx.match[1]));
  if (!stored) return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  let issued;
  try {
    issued = await issueAgent({ db, clock, actor: actorOf(ctx.from.id) }, stored.id, {
      os,
      publicUrl: settings.publicUrl,
      secretKey: settings.secretKey,
      options: stored.agentOptions ?? {},
    });
  } catch (err) {
    if (err instanceof InputError) return ctx.answerCallbackQuery({ text: describeError(err, ctx.lang), show_alert: true });
    throw err;
  }
  await ctx.answerCallbackQuery();
  // The OS buttons go: the script they made holds the only copy of the new token.
  await ctx.editMessageReplyMarkup().catch(() => undefined);
  // The token that was the installation's no longer works: each caption says so, with the other system's script in mind.
  const replaced = issued.rotated ? `\n\n${ctx.t.agentTokenReplaced(issued.agents.length > 1)}` : '';
  for (const script of issued.agents) {
    await ctx.replyWithDocument(new InputFile(script.bytes, script.fileName), {
      // The command goes in <code>: the administrator copies it with one tap.
      caption: ctx.t.agentCaption(escapeHtml(issued.installation.name), DEFAULT_INSTALL_DIRS[script.os], `<code>${escapeHtml(script.schedule(DEFAULT_INSTALL_DIRS[script.os]))}</code>`) + replaced,
      parse_mode: 'HTML',
    });
  }
});
