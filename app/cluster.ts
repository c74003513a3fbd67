import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { DB } from '../db/open.ts';
import { claimJobSlot, claimRole, finishJobSlot, listLeases, releaseLease, renewLease } from '../db/leases.ts';
import type { AbandonedSlot, JobClaims, JobRunClaim } from '../jobs/scheduler.ts';

/**
 * One instance's part among several on one database. A role (sending the
 * outbox, polling Telegram) is held by one instance at a time: it claims the
 * role's lease, renews it every third of `ttlMs`, and another instance claims
 * it once it expires. A holder that cannot renew in time stops the role
 * itself before the lease runs out (at two thirds of it), so two instances
 * never do one role's work at once, even when the database is what failed.
 * Scheduled jobs run once per slot: the instance that claims a slot runs it,
 * renewing the claim while it runs, and marks the slot finished at its end;
 * a slot left unfinished by an instance that died in it is taken over when
 * its claim expires. On SQLite there is one instance and it
 * holds every role; the same code runs.
 */
export interface ClusterOptions {
  db: DB;
  /** This instance's name, shown in /healthz, /metrics and the logs; unique among the instances. */
  instance: string;
  /** How long a claim holds without renewal. */
  ttlMs: number;
  logger: Logger;
  /** The wall clock leases are measured by (the instances' clocks are assumed to agree within well under `ttlMs`). */
  now?: () => number;
  /**
   * No other instance can exist (SQLite: one process per file): claims are taken whoever held them, so a
   * restart after a crash does not wait for the dead process's claims to run out.
   */
  alone?: boolean;
}

/** What an instance does while it holds a role, and stops doing when it loses it. */
export interface RoleWork {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

interface HeldRole {
  fence: number;
  /** When the last successful claim or renewal started: the lease holds until this plus ttl at least. */
  renewedAt: number;
}

export interface RoleView {
  role: string;
  holder: string | null;
  /** Whether this instance holds it. */
  mine: boolean;
  expiresAt: number | null;
}

export interface ClusterView {
  instance: string;
  roles: RoleView[];
  /** The last run of each scheduled job: where, for which slot, whether it finished. */
  jobs: { job: string; holder: string; slot: number | null; finished: boolean; claimedAt: number }[];
}

const ROLE = 'role:';
const JOB = 'job:';

export function defaultInstanceName(): string {
  return `${hostname()}:${process.pid}`;
}

export class Cluster implements JobClaims {
  readonly instance: string;
  private readonly now: () => number;
  private readonly roleWork = new Map<string, RoleWork>();
  private readonly held = new Map<string, HeldRole>();
  /** Roles being started or stopped: the next round waits for them. */
  private transitions: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private round: Promise<void> = Promise.resolve();

  constructor(private readonly options: ClusterOptions) {
    this.instance = options.instance;
    this.now = options.now ?? Date.now;
  }

  private get renewEveryMs(): number {
    return Math.max(100, Math.floor(this.options.ttlMs / 3));
  }

  /** Take part in `role`: `work` runs while this instance holds it. Call before `start`. */
  role(name: string, work: RoleWork): void {
    this.roleWork.set(name, work);
  }

  holds(name: string): boolean {
    return this.held.has(name);
  }

  /** Claim what is free now (so a lone instance holds every role when this resolves), then keep claiming and renewing. */
  async start(): Promise<void> {
    this.running = true;
    await this.tick();
  }

  /** Stop every role's work, then let go of the roles so another instance takes them over at once. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    await this.transitions;
    for (const [name, held] of [...this.held]) {
      await this.lose(name, 'stopping');
      await releaseLease(this.options.db, ROLE + name, held.fence, this.now()).catch((err: unknown) => this.options.logger.warn({ err, role: name }, 'cannot let go of a role; another instance takes it when it expires'));
    }
  }

  /** Renew what is held and claim what is free, now (the rounds run by themselves every third of the lease after `start`). */
  async claimRound(): Promise<void> {
    await this.round;
    await this.claimAndRenew();
  }

  /** One round: renew what is held, claim what is free; then the next round in a third of the lease. */
  private tick(): Promise<void> {
    this.round = this.claimAndRenew()
      .catch((err: unknown) => this.options.logger.error({ err }, 'cannot claim or renew roles'))
      .finally(() => {
        if (!this.running) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.tick(), this.renewEveryMs);
        this.timer.unref();
      });
    return this.round;
  }

  private async claimAndRenew(): Promise<void> {
    const { db, ttlMs, logger } = this.options;
    await this.transitions;
    for (const [name, work] of this.roleWork) {
      if (this.stopped) return;
      const started = this.now();
      const held = this.held.get(name);
      try {
        if (held) {
          if (await this.within(renewLease(db, ROLE + name, held.fence, started, ttlMs))) held.renewedAt = started;
          else await this.lose(name, 'taken over');
        } else {
          const fence = await this.within(claimRole(db, ROLE + name, this.instance, started, ttlMs, this.options.alone));
          if (fence !== null && !this.stopped) {
            this.held.set(name, { fence, renewedAt: started });
            logger.info({ role: name, instance: this.instance, fence }, 'role taken');
            await this.transition(() => work.start());
          }
        }
      } catch (err) {
        logger.warn({ err, role: name }, 'cannot reach the database to claim or renew a role');
      }
      // Not renewed for two thirds of the lease: stop before another instance may take it.
      const still = this.held.get(name);
      if (still && this.now() - still.renewedAt >= (ttlMs * 2) / 3) await this.lose(name, 'not renewed in time');
    }
  }

  /** A database that does not answer within a round counts as a failure, so a hung connection cannot keep a role held. */
  private within<T>(query: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${this.renewEveryMs} ms`)), this.renewEveryMs);
    });
    return Promise.race([query, late]).finally(() => clearTimeout(timer));
  }

  private async lose(name: string, why: string): Promise<void> {
    if (!this.held.delete(name)) return;
    const log = this.options.logger;
    (why === 'stopping' ? log.info.bind(log) : log.warn.bind(log))({ role: name, instance: this.instance, why }, 'role given up');
    const work = this.roleWork.get(name);
    if (work) await this.transition(() => work.stop());
  }

  private transition(change: () => void | Promise<void>): Promise<void> {
    const next = this.transitions.then(change).catch((err: unknown) => this.options.logger.error({ err }, 'a role did not start or stop cleanly'));
    this.transitions = next;
    return next;
  }

  /** Claim a job's run for its slot; null when another instance has it. The claim is renewed until it is finished. */
  async claim(job: string, slot: number): Promise<JobRunClaim | null> {
    const { db, ttlMs, logger } = this.options;
    const name = JOB + job;
    const fence = await claimJobSlot(db, name, slot, this.instance, this.now(), ttlMs, this.options.alone);
    if (fence === null) return null;
    const lost = new AbortController();
    let renewing = Promise.resolve();
    const timer = setInterval(() => {
      renewing = renewing
        .then(async () => {
          if (!(await renewLease(db, name, fence, this.now(), ttlMs))) lost.abort(new Error(`the ${job} run was taken over by another instance`));
        })
        .catch((err: unknown) => logger.warn({ err, job }, 'cannot renew the claim on a running job'));
    }, this.renewEveryMs);
    timer.unref();
    return {
      lost: lost.signal,
      // Not waiting for a renewal in flight: one landing after this only moves a finished run's expiry, which no claim reads.
      finish: async () => {
        clearInterval(timer);
        await finishJobSlot(db, name, fence, this.now()).catch((err: unknown) => logger.warn({ err, job }, 'cannot mark a job run finished; its claim expires by itself'));
      },
    };
  }

  /** Job slots claimed and never finished whose claims ran out: their instance died in the run. */
  async abandoned(): Promise<AbandonedSlot[]> {
    const now = this.now();
    return (await listLeases(this.options.db)).flatMap((r) =>
      r.name.startsWith(JOB) && !r.finished && r.slot !== null && r.expiresAt <= now ? [{ job: r.name.slice(JOB.length), slot: r.slot }] : [],
    );
  }

  /** The roles this instance takes part in, and whether it holds each now. */
  roles(): { role: string; mine: boolean }[] {
    return [...this.roleWork.keys()].map((role) => ({ role, mine: this.held.has(role) }));
  }

  /** When a job's last finished run ended, on whichever instance (null: it has not finished a run). */
  async lastFinished(job: string): Promise<Date | null> {
    const row = (await listLeases(this.options.db)).find((r) => r.name === JOB + job);
    return row?.finished ? new Date(row.expiresAt) : null;
  }

  /** Who holds each role and where each job last ran, as the database says. */
  async view(): Promise<ClusterView> {
    const rows = await listLeases(this.options.db);
    const now = this.now();
    const roles = [...this.roleWork.keys()].map((role): RoleView => {
      const row = rows.find((r) => r.name === ROLE + role);
      const live = row !== undefined && row.expiresAt > now;
      return { role, holder: live ? row.holder : null, mine: this.held.has(role), expiresAt: live ? row.expiresAt : null };
    });
    const jobs = rows
      .filter((r) => r.name.startsWith(JOB))
      .map((r) => ({ job: r.name.slice(JOB.length), holder: r.holder, slot: r.slot, finished: r.finished, claimedAt: r.claimedAt }));
    return { instance: this.instance, roles, jobs };
  }
}
