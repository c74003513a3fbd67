import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { TelegramHealth } from '../bot/runtime.ts';
import type { Clock } from '../core/clock.ts';
import { operapAgeMs } from '../core/state.ts';
import { countOpenIncidentsByInstallation, countOpenIncidentsBySeverity, listMonitoredInstallations, listProbeOutcomes } from '../db/metrics.ts';
import type { DB } from '../db/open.ts';
import { oldestPendingAt, pendingCount } from '../db/outbox.ts';
import type { DispatchSummary } from '../delivery/dispatcher.ts';

/** What the running service knows about itself that the database does not. */
export interface ServiceReadings {
  /** Deliveries since the service started. */
  deliveries?: () => DispatchSummary;
  /** Mail's lanes of the outbox, when SMTP_URL is set. */
  mailDeliveries?: () => DispatchSummary;
  /** When the last sweep of the checks finished, by whichever instance ran it (null: none yet). */
  lastSweepAt?: () => Date | null | Promise<Date | null>;
  telegram?: () => TelegramHealth | undefined;
  /** This instance's name and the roles it takes part in, with whether it holds each now. */
  cluster?: { instance: string; roles(): { role: string; mine: boolean }[] };
}

/**
 * Prometheus metrics, read from the database at each scrape: per installation
 * (seconds since the last report, operap age, key, service, probes, open
 * incidents), the outbox, the sweep, Telegram, and the process's own. Every
 * name passes `promtool check metrics`.
 */
export function createMetrics(db: DB, clock: Clock, readings: ServiceReadings = {}): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dozor_' });
  // prom-client also exports these three gauges under a `_total` name, which Prometheus keeps for counters;
  // the same figures stay under their plain names (dozor_nodejs_active_handles and so on).
  for (const duplicate of ['dozor_nodejs_active_handles_total', 'dozor_nodejs_active_requests_total', 'dozor_nodejs_active_resources_total']) {
    registry.removeSingleMetric(duplicate);
  }
  const labels = ['installation_id', 'installation', 'client'] as const;

  // One pass over the installations fills every per-installation gauge; registered first, so the
  // registry collects it before it reads the gauges it fills (declared below, used only at scrape time).
  // The registry asks for every metric at once and the pass waits for its queries: the gauges it fills wait for the pass.
  let filling: Promise<number> = Promise.resolve(0);
  const filled = async (): Promise<void> => {
    await filling;
  };
  new Gauge({
    name: 'dozor_installations',
    help: 'Installations under monitoring',
    registers: [registry],
    async collect() {
      filling = fillInstallationGauges();
      this.set(await filling);
    },
  });
  /** The per-installation gauges, from one read of each table; they are reset and set together, after the reads. */
  async function fillInstallationGauges(): Promise<number> {
    const now = clock().getTime();
    const rows = await listMonitoredInstallations(db);
    const probes = await listProbeOutcomes(db);
    const incidents = await countOpenIncidentsByInstallation(db);
    for (const gauge of [reportAge, sysinfoAge, operapAge, keyOk, serviceUp, probeUp, probeLatency, installationIncidents]) gauge.reset();
    const names = new Map<number, Record<(typeof labels)[number], string>>();
    for (const row of rows) {
      const l = { installation_id: String(row.id), installation: row.name, client: row.client };
      names.set(row.id, l);
      const s = row.state;
      // An installation that never reported is as silent as the time since it was registered, as the rule counts it.
      reportAge.set(l, (now - (s?.lastReceivedAt ?? row.createdAt).getTime()) / 1000);
      sysinfoAge.set(l, (now - (s?.lastSysinfoAt ?? row.createdAt).getTime()) / 1000);
      if (!s) continue;
      if (s.operapDate) operapAge.set(l, operapAgeMs(s.operapDate, row.tz, new Date(now)) / 1000);
      if (s.senselockState) keyOk.set(l, s.senselockState === 'ok' ? 1 : 0);
      if (s.serviceState) serviceUp.set(l, s.serviceState === 'running' ? 1 : 0);
    }
    for (const p of probes) {
      const l = names.get(p.installationId);
      if (!l) continue;
      probeUp.set({ ...l, probe: p.probe }, p.ok ? 1 : 0);
      if (p.ok && p.latencyMs !== null) probeLatency.set({ ...l, probe: p.probe }, p.latencyMs / 1000);
    }
    for (const row of incidents) {
      const l = names.get(row.installationId);
      if (l) installationIncidents.set({ ...l, severity: row.severity }, row.n);
    }
    return rows.length;
  }
  const reportAge = new Gauge({
    name: 'dozor_installation_report_age_seconds',
    help: 'Seconds since the last report was received (since registration when none ever was)',
    labelNames: labels,
    registers: [registry],
    collect: filled,
  });
  const sysinfoAge = new Gauge({
    name: 'dozor_installation_sysinfo_age_seconds',
    help: 'Seconds since the full state last arrived, a sysinfo or an agent report (since registration when it never did), as KodeksXmlMissing counts',
    labelNames: labels,
    registers: [registry],
    collect: filled,
  });
  const operapAge = new Gauge({ name: 'dozor_installation_operap_age_seconds', help: 'Age of the last operational update (operap), from the start of its day at the client', labelNames: labels, registers: [registry], collect: filled });
  const keyOk = new Gauge({ name: 'dozor_installation_senselock_ok', help: '1 when the SenseLock key is reported ok, 0 when lost or absent', labelNames: labels, registers: [registry], collect: filled });
  const serviceUp = new Gauge({ name: 'dozor_installation_service_up', help: '1 when the ПК service is reported running, 0 when stopped', labelNames: labels, registers: [registry], collect: filled });
  const probeUp = new Gauge({ name: 'dozor_probe_up', help: '1 when the last probe succeeded', labelNames: [...labels, 'probe'], registers: [registry], collect: filled });
  const probeLatency = new Gauge({ name: 'dozor_probe_latency_seconds', help: 'Latency of the last successful probe', labelNames: [...labels, 'probe'], registers: [registry], collect: filled });
  const installationIncidents = new Gauge({ name: 'dozor_installation_open_incidents', help: 'Unresolved incidents of an installation, by severity', labelNames: [...labels, 'severity'], registers: [registry], collect: filled });
  new Gauge({
    name: 'dozor_open_incidents',
    help: 'Unresolved incidents, by severity',
    labelNames: ['severity'],
    registers: [registry],
    async collect() {
      const rows = await countOpenIncidentsBySeverity(db);
      this.reset();
      for (const severity of ['critical', 'warning', 'info']) this.set({ severity }, 0);
      for (const row of rows) {
        this.set({ severity: row.severity }, row.n);
      }
    },
  });
  new Gauge({
    name: 'dozor_outbox_pending',
    help: 'Announcements waiting to be delivered',
    registers: [registry],
    async collect() {
      this.set(await pendingCount(db));
    },
  });
  new Gauge({
    name: 'dozor_outbox_oldest_pending_age_seconds',
    help: 'How long the oldest announcement still waiting has waited (0 when none waits)',
    registers: [registry],
    async collect() {
      const oldest = await oldestPendingAt(db);
      this.set(oldest ? Math.max(0, (clock().getTime() - oldest.getTime()) / 1000) : 0);
    },
  });
  if (readings.deliveries) {
    deliveryCounter(registry, 'dozor_outbox_deliveries_total', 'Announcements handed to the delivery channel since the service started, by outcome (failed ones are retried)', readings.deliveries);
  }
  if (readings.mailDeliveries) {
    deliveryCounter(
      registry,
      'dozor_mail_deliveries_total',
      'Mails since the service started, by outcome: sent (the mail server took it), failed (retried), withdrawn (not sent and not retried: an address the server refuses, no address any more, or the incident over first)',
      readings.mailDeliveries,
      ['sent', 'failed', 'withdrawn'],
    );
  }
  const lastSweepAt = readings.lastSweepAt;
  if (lastSweepAt) {
    new Gauge({
      name: 'dozor_sweep_last_success_timestamp_seconds',
      help: 'When the last scheduled sweep of the checks finished (Unix time)',
      registers: [registry],
      async collect() {
        const at = await lastSweepAt();
        this.reset();
        if (at) this.set(at.getTime() / 1000);
      },
    });
  }
  const telegram = readings.telegram;
  if (telegram) {
    new Gauge({
      name: 'dozor_telegram_connected',
      help: '1 while the bot reaches Telegram, 0 while it does not (it keeps trying)',
      registers: [registry],
      collect() {
        this.set(telegram()?.state === 'connected' ? 1 : 0);
      },
    });
  }
  const cluster = readings.cluster;
  if (cluster) {
    // Not `instance`: Prometheus gives every series that label itself, naming the scraped address.
    new Gauge({
      name: 'dozor_instance_info',
      help: 'Always 1; its label names the dozor instance that answered (INSTANCE_NAME)',
      labelNames: ['dozor_instance'],
      registers: [registry],
      collect() {
        this.reset();
        this.set({ dozor_instance: cluster.instance }, 1);
      },
    });
    new Gauge({
      name: 'dozor_role_held',
      help: 'Whether this instance holds a role now (outbox: sends the alerts; telegram-poll or telegram-webhook: polls Telegram or set the webhook); across instances each role should sum to 1',
      labelNames: ['role'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { role, mine } of cluster.roles()) this.set({ role }, mine ? 1 : 0);
      },
    });
  }

  return registry;
}

/** A dispatcher's totals since start as a counter by outcome (`sent`, `failed`, and for mail `withdrawn`), read at each scrape. */
function deliveryCounter(registry: Registry, name: string, help: string, totalsOf: () => DispatchSummary, outcomes: readonly (keyof DispatchSummary)[] = ['sent', 'failed']): void {
  new Counter({
    name,
    help,
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const totals = totalsOf();
      this.reset();
      for (const outcome of outcomes) this.inc({ outcome }, totals[outcome]);
    },
  });
}
