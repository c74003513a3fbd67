import { randomBytes } from 'node:crypto';
import { autoRetry } from '@grammyjs/auto-retry';
import { createConcurrentSink, createRunner, createSource, type RunnerHandle, type UpdateSupplier } from '@grammyjs/runner';
import type { FastifyInstance } from 'fastify';
import { webhookCallback, type Bot } from 'grammy';
import type { Update } from 'grammy/types';
import { createBot, registerCommands } from './bot.ts';
import type { BotContext, BotServices } from './context.ts';
import { readValue, writeValue } from '../db/key-value.ts';

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
  /**
   * Several instances share the bot: this one polls (or sets the webhook)
   * only between `role.start()` and `role.stop()`, called by whatever decides
   * which instance does it. Alone, it does so from the start.
   */
  coordinated?: boolean;
}

/** What one instance among several does for the bot: poll Telegram, or set its webhook. */
export interface TelegramRole {
  name: 'telegram-poll' | 'telegram-webhook';
  start(): void;
  stop(): Promise<void>;
}

/** How the bot stands with Telegram, for /healthz. */
export interface TelegramHealth {
  mode: 'polling' | 'webhook';
  /** Whether this instance holds the bot's role: it polls, or it set the webhook. */
  active: boolean;
  /** `connecting` until the first answer; `disconnected` after a failure, until the next answer. */
  state: 'connecting' | 'connected' | 'disconnected';
  since: string;
  /** The last failure, without the request's address (it holds the token). */
  lastError: string | null;
}

export interface TelegramRuntime {
  bot: Bot<BotContext>;
  /** Resolves once the bot knows who it is (Telegram answered getMe); polling or the webhook follow while this instance holds `role`. */
  ready: Promise<void>;
  role: TelegramRole;
  health(): TelegramHealth;
  stop(): Promise<void>;
}

/** Long-poll length; the HTTP client waits longer, so an idle poll ends as an empty answer, not a timeout. */
export const POLL_SECONDS = 25;
/** How much longer than the poll the HTTP client waits for its answer: an idle poll must end as an empty answer, never as a timeout. */
const CLIENT_TIMEOUT_MARGIN_SECONDS = 15;
/** On stop, how long updates being handled may take before the service goes on stopping without them. */
const STOP_WAIT_MS = 3_000;
/** Where the poller keeps the offset of the next update: an instance that takes polling over starts from it. */
export const POLL_OFFSET_KEY = 'telegram:poll-offset';

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
  let health: Omit<TelegramHealth, 'active'> = { mode, state: 'connecting', since: services.clock().toISOString(), lastError: null };
  const connected = () => {
    if (health.state !== 'connected') health = { mode, state: 'connected', since: services.clock().toISOString(), lastError: null };
  };
  const failed = (err: unknown) => {
    const lastError = describe(err);
    health = health.state === 'disconnected' ? { ...health, lastError } : { mode, state: 'disconnected', since: services.clock().toISOString(), lastError };
  };

  const stopping = new AbortController();
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
  async function persist<T>(what: string, work: () => Promise<T>, signal: AbortSignal = stopping.signal): Promise<T> {
    let wait = retryBaseMs;
    for (;;) {
      try {
        const result = await work();
        connected();
        return result;
      } catch (err) {
        if (signal.aborted) throw err;
        failed(err);
        logger.warn({ err: describe(err), retryInMs: wait }, `cannot reach Telegram (${what}); trying again`);
        await abortableSleep(wait, signal);
        wait = Math.min(wait * 2, retryMaxMs);
      }
    }
  }

  const ready = (async () => {
    // Not `bot.init()`: it retries by itself, out of sight and for ever, and health would not know.
    await persist('getMe', async () => {
      bot.botInfo = await bot.api.getMe(stopping.signal as unknown as ShimSignal);
    });
    logger.info({ bot: bot.botInfo.username, mode }, 'Telegram bot is running');
  })();
  // Stopping before Telegram ever answered ends the attempts; nothing else is waiting for them.
  ready.catch((err: unknown) => {
    if (!stopping.signal.aborted) logger.error({ err: describe(err) }, 'the Telegram bot did not start');
  });

  /** The role's work while this instance holds it: started in the background (Telegram may be away for hours), ended by `stop`. */
  interface RoleRun {
    ended: AbortController;
    runner?: RunnerHandle;
    work: Promise<void>;
  }
  let active = undefined as RoleRun | undefined;
  const role: TelegramRole = {
    name: options.webhookUrl ? 'telegram-webhook' : 'telegram-poll',
    start() {
      if (active || stopping.signal.aborted) return;
      const ended = new AbortController();
      const signal = AbortSignal.any([stopping.signal, ended.signal]);
      const run: RoleRun = { ended, work: Promise.resolve() };
      run.work = (async () => {
        // Telegram may not have answered getMe yet (down for hours): giving the role up must not wait for it.
        await Promise.race([ready, aborted(signal)]);
        await registerCommands(bot).catch((err: unknown) => logger.warn({ err: describe(err) }, 'setMyCommands failed'));
        if (options.webhookUrl) {
          await persist('setWebhook', () => bot.api.setWebhook(options.webhookUrl!, { secret_token: secret }), signal);
          logger.info({ url: options.webhookUrl }, 'Telegram webhook set');
          return;
        }
        await bot.api.deleteWebhook().catch((err: unknown) => logger.warn({ err: describe(err) }, 'deleteWebhook failed'));
        const offset = (await readValue<number>(services.db, POLL_OFFSET_KEY)) ?? 0;
        if (signal.aborted) return;
        run.runner = createRunner(createSource(pollUpdates(offset, signal)), createConcurrentSink<Update>(
          { consume: (update) => bot.handleUpdate(update) },
          async (error) => {
            try {
              await bot.errorHandler(error as Parameters<typeof bot.errorHandler>[0]);
            } catch (err) {
              logger.error({ err }, 'update handling failed');
            }
          },
        ));
        run.runner.start();
        logger.info({ offset }, 'polling Telegram for updates');
      })().catch((err: unknown) => {
        if (!signal.aborted) logger.error({ err: describe(err) }, 'the Telegram bot did not start polling');
      });
      active = run;
    },
    async stop() {
      const run = active;
      active = undefined;
      if (!run) return;
      run.ended.abort(new Error('the bot\'s role ended here'));
      await run.work;
      // Updates being handled finish if they can in a moment; a handler stuck on Telegram does not hold the stop.
      if (run.runner) await Promise.race([run.runner.stop(), new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
    },
  };
  if (!options.coordinated) role.start();

  /**
   * Updates by long polling, from `offset` on, retried for as long as the role is held. The offset each poll
   * confirms to Telegram is written first, so an instance that takes polling over asks for what this one had not handled.
   */
  function pollUpdates(from: number, signal: AbortSignal): UpdateSupplier<Update> {
    let offset = from;
    let saved = from;
    return {
      supply: async (batchSize, supplySignal) => {
        if (offset !== saved) {
          // The database being away does not stop the polling: the offset is kept here and written at the next poll.
          try {
            await writeValue(services.db, POLL_OFFSET_KEY, offset, services.clock());
            saved = offset;
          } catch (err) {
            logger.warn({ err }, 'cannot store the Telegram update offset; polling goes on');
          }
        }
        return persist(
          'getUpdates',
          async () => {
            const updates = await bot.api.getUpdates({ offset, limit: Math.max(1, Math.min(batchSize, 100)), timeout: pollSeconds }, supplySignal);
            const last = updates.at(-1);
            if (last) offset = last.update_id + 1;
            return updates;
          },
          AbortSignal.any([signal, supplySignal as AbortSignal]),
        );
      },
    };
  }

  return {
    bot,
    ready: ready.catch(() => undefined),
    role,
    health: () => ({ ...health, active: active !== undefined }),
    async stop() {
      stopping.abort(new Error('the service is stopping'));
      await role.stop();
    },
  };
}

/** Rejects with the signal's reason once it aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
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
