import { Composer } from 'grammy';
import { issueWebLink, WEB_LINK_MS } from '../../registry/web-access.ts';
import { actorOf, type BotContext } from '../context.ts';

/** /web: a one-time link to the browser cabinet, in a private chat only (it opens the person's session). */
export const web = new Composer<BotContext>();

web.chatType(['group', 'supergroup']).command('web', (ctx) => ctx.reply(ctx.t.adminPrivateOnly));

web.chatType('private').command('web', async (ctx) => {
  const { db, clock, settings } = ctx.services;
  if (!settings.publicUrl) return ctx.reply(ctx.t.web.noPublicUrl);
  const token = await issueWebLink({ db, clock, actor: actorOf(ctx.from.id) }, ctx.from.id);
  if (!token) return ctx.reply(ctx.t.forbidden);
  const url = `${settings.publicUrl.replace(/\/+$/, '')}/web/login?token=${token}`;
  return ctx.reply(ctx.t.web.linkMessage(url, WEB_LINK_MS / 60_000), { link_preview_options: { is_disabled: true } });
});
