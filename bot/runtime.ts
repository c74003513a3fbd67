import { randomBytes } from 'node:crypto';
import { autoRetry } from '@grammyjs/auto-retry';
import { createConcurrentSink, createRunner, createSource, type RunnerHandle, type UpdateSupplier } from '@grammyjs/runner';
import type { FastifyInstance } from 'fastify';
import { webhookCallback, type Bot } from 'grammy';
import type { Update } from 'grammy/types';
import { createBot, registerCommands } from './bot.ts';
import type { BotContext, BotServices } from './context.ts';

/** grammY types its signal parameters with the abort-controller shim's AbortSignal; Node's own is what its fetch takes at run time. */
type ShimSignal = Parameters<Bot['api']['getMe']>[0];

export interface TelegramOptions {
  token: string;
  apiRoot?: string;
  /** Webhook mode when set; long polling otherwise. */
  webhookUrl?: string;
  webhookSecret?: string;
  /** First wait before trying Telegram again after a failure; doubles up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Long-poll length in seconds (default `POLL_SECONDS`); the HTTP client always waits longer than this. */
  pollSeconds?: number;
}

/** How the bot stands with Telegram, for /healthz. */
export interface TelegramHealth {
  mode: 'polling' | 'webhook';
  /** `connecting` until the first answer; `disconnected` after a failure, until the next answer. */
  state: 'connecting' | 'connected' | 'disconnected';
  since: string;
  /** The last failure, without the request's address (it holds the token). */
  lastError: string | null;
}

export interface TelegramRuntime {
  bot: Bot<BotContext>;
  /** Resolves once the bot knows who it is and receives updates. */
  ready: Promise<void>;
  health(): TelegramHealth;
  stop(): Promise<void>;
}

/** Long-poll length; the HTTP client waits longer, so an idle poll ends as an empty answer, not a timeout. */
export const POLL_SECONDS = 25;
/** How much longer than the poll the HTTP client waits for its answer: an idle poll must end as an empty answer, never as a timeout. */
const CLIENT_TIMEOUT_MARGIN_SECONDS = 15;
/** On stop, how long updates being handled may take before the service goes on stopping without them. */
const STOP_WAIT_MS = 3_000;

/**
 * Run the bot: outgoing calls through auto-retry (a 429's retry_after is
 * honoured; long waits are left to the outbox's own backoff), updates by long
 * polling, or by a webhook on the service's HTTP server. Telegram being
 * unreachable, for minutes or for days, never stops anything else: the bot
 * keeps trying, waiting longer after each failure (up to `retryMaxMs`), for
 * as long as the service runs, and says how it stands in `health()`. Stopping
 * aborts the poll and any wait at once.
 */
export function startTelegram(options: TelegramOptions, services: BotServices, http: FastifyInstance): TelegramRuntime {
  const logger = services.logger;
  const retryBaseMs = options.retryBaseMs ?? 1_000;
  const retryMaxMs = options.retryMaxMs ?? 60_000;
  const pollSeconds = options.pollSeconds ?? POLL_SECONDS;
  const bot = createBot(options.token, services, {
    ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}),
    timeoutSeconds: pollSeconds + CLIENT_TIMEOUT_MARGIN_SECONDS,
    // Only flood control is retried here; server and network errors go back to the outbox, which retries with its own backoff.
    transformers: [autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 30, rethrowInternalServerErrors: true, rethrowHttpErrors: true })],
  });
  const mode = options.webhookUrl ? 'webhook' : 'polling';
  let health: TelegramHealth = { mode, state: 'connecting', since: services.clock().toISOString(), lastError: null };
  const connected = () => {
    if (health.state !== 'connected') health = { mode, state: 'connected', since: services.clock().toISOString(), lastError: null };
  };
  const failed = (err: unknown) => {
    const lastError = describe(err);
    health = health.state === 'disconnected' ? { ...health, lastError } : { mode, state: 'disconnected', since: services.clock().toISOString(), lastError };
  };

  const stopping = new AbortController();
  let runner: RunnerHandle | undefined;
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

  /** Try `work` until it succeeds, waiting longer after each failure; only stopping ends it (with an AbortError). */
  async function persist<T>(what: string, work: () => Promise<T>): Promise<T> {
    let wait = retryBaseMs;
    for (;;) {
      try {
        const result = await work();
        connected();
        return result;
      } catch (err) {
        if (stopping.signal.aborted) throw err;
        failed(err);
        logger.warn({ err: describe(err), retryInMs: wait }, `cannot reach Telegram (${what}); trying again`);
        await abortableSleep(wait, stopping.signal);
        wait = Math.min(wait * 2, retryMaxMs);
      }
    }
  }

  const ready = (async () => {
    // Not `bot.init()`: it retries by itself, out of sight and for ever, and health would not know.
    await persist('getMe', async () => {
      bot.botInfo = await bot.api.getMe(stopping.signal as unknown as ShimSignal);
    });
    await registerCommands(bot).catch((err: unknown) => logger.warn({ err: describe(err) }, 'setMyCommands failed'));
    if (options.webhookUrl) {
      await persist('setWebhook', () => bot.api.setWebhook(options.webhookUrl!, { secret_token: secret }));
      logger.info({ bot: bot.botInfo.username, mode }, 'Telegram bot is running');
      return;
    }
    await bot.api.deleteWebhook().catch((err: unknown) => logger.warn({ err: describe(err) }, 'deleteWebhook failed'));
    if (stopping.signal.aborted) return;
    runner = createRunner(createSource(pollUpdates()), createConcurrentSink<Update>(
      { consume: (update) => bot.handleUpdate(update) },
      async (error) => {
        try {
          await bot.errorHandler(error as Parameters<typeof bot.errorHandler>[0]);
        } catch (err) {
          logger.error({ err }, 'update handling failed');
        }
      },
    ));
    runner.start();
    logger.info({ bot: bot.botInfo.username, mode }, 'Telegram bot is running');
  })();
  // Stopping before Telegram ever answered ends the attempts; nothing else is waiting for them.
  ready.catch((err: unknown) => {
    if (!stopping.signal.aborted) logger.error({ err: describe(err) }, 'the Telegram bot did not start');
  });

  /** Updates by long polling, the offset kept across failures, retried for as long as the service runs. */
  function pollUpdates(): UpdateSupplier<Update> {
    let offset = 0;
    return {
      supply: (batchSize, signal) =>
        persist('getUpdates', async () => {
          const updates = await bot.api.getUpdates({ offset, limit: Math.max(1, Math.min(batchSize, 100)), timeout: pollSeconds }, signal);
          const last = updates.at(-1);
          if (last) offset = last.update_id + 1;
          return updates;
        }),
    };
  }

  return {
    bot,
    ready: ready.catch(() => undefined),
    health: () => health,
    async stop() {
      stopping.abort(new Error('the service is stopping'));
      const running = runner;
      runner = undefined;
      if (!running) return;
      // Updates being handled finish if they can in a moment; a handler stuck on Telegram does not hold the stop.
      await Promise.race([running.stop(), new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
    },
  };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** An error as one line, its cause included (the address the request went to is left out: it holds the token). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { error?: unknown }).error;
  const inner = cause instanceof Error ? `: ${cause.message}` : '';
  return `${err.name}: ${err.message}${inner}`.replace(/bot\d+:[A-Za-z0-9_-]+/g, 'bot[redacted]');
}
