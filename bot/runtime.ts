import { autoRetry } from '@grammyjs/auto-retry';
import { run, type RunnerHandle } from '@grammyjs/runner';
import { webhookCallback, type Bot } from 'grammy';
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { createBot, registerCommands } from './bot.ts';
import type { BotContext, BotServices } from './context.ts';

export interface TelegramOptions {
  token: string;
  apiRoot?: string;
  /** Webhook mode when set; long polling otherwise. */
  webhookUrl?: string;
  webhookSecret?: string;
}

export interface TelegramRuntime {
  bot: Bot<BotContext>;
  /** Resolves once the bot knows who it is and receives updates. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

const INIT_RETRY_MS = 10_000;

/**
 * Run the bot: outgoing calls through auto-retry (a 429's retry_after is
 * honoured; long waits are left to the outbox's own backoff), updates by long
 * polling through the runner, or by a webhook on the service's HTTP server.
 * If Telegram cannot be reached at start-up, the bot keeps trying in the
 * background while the rest of the service runs; the outbox keeps alerts.
 */
export function startTelegram(options: TelegramOptions, services: BotServices, http: FastifyInstance): TelegramRuntime {
  const logger = services.logger;
  const bot = createBot(options.token, services, {
    ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}),
    // Only flood control is retried here; server and network errors go back to the outbox, which retries with its own backoff.
    transformers: [autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 30, rethrowInternalServerErrors: true, rethrowHttpErrors: true })],
  });

  let runner: RunnerHandle | undefined;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const secret = options.webhookSecret ?? randomBytes(32).toString('hex');

  if (options.webhookUrl) {
    const path = new URL(options.webhookUrl).pathname;
    // grammY checks the X-Telegram-Bot-Api-Secret-Token header and answers 401 without it.
    const handle = webhookCallback(bot, 'fastify', { secretToken: secret, onTimeout: 'return' });
    http.post(path, async (request, reply) => {
      if (!bot.isInited()) return reply.code(503).send({ error: 'bot is starting' });
      return handle(request, reply);
    });
  }

  const ready = new Promise<void>((resolve) => {
    const attempt = async () => {
      if (stopped) return;
      try {
        await bot.init();
      } catch (err) {
        logger.error({ err: redact(err, options.token) }, `cannot reach Telegram; trying again in ${INIT_RETRY_MS / 1000} s`);
        retryTimer = setTimeout(() => void attempt(), INIT_RETRY_MS);
        return;
      }
      await registerCommands(bot).catch((err: unknown) => logger.warn({ err: redact(err, options.token) }, 'setMyCommands failed'));
      if (options.webhookUrl) {
        await bot.api
          .setWebhook(options.webhookUrl, { secret_token: secret })
          .catch((err: unknown) => logger.error({ err: redact(err, options.token) }, 'setWebhook failed'));
        logger.info({ bot: bot.botInfo.username, mode: 'webhook' }, 'Telegram bot is running');
      } else {
        await bot.api.deleteWebhook().catch((err: unknown) => logger.warn({ err: redact(err, options.token) }, 'deleteWebhook failed'));
        if (stopped) return;
        runner = run(bot);
        logger.info({ bot: bot.botInfo.username, mode: 'polling' }, 'Telegram bot is running');
      }
      resolve();
    };
    void attempt();
  });

  return {
    bot,
    ready,
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      if (runner?.isRunning()) await runner.stop();
    },
  };
}

/** Errors from the Bot API client can carry the request URL, which holds the token. */
function redact(err: unknown, token: string): unknown {
  if (!(err instanceof Error)) return err;
  const clean = new Error(err.message.split(token).join('[redacted]'));
  clean.name = err.name;
  return clean;
}
