import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import { INCIDENT_STATUSES, RESOLUTIONS } from '../core/incidents.ts';
import { LICMAN_STATES, SENSELOCK_STATES, SERVER_STATES, SERVICE_ACCOUNTS, SERVICE_STATES, type DatabaseFacts, type ReportFacts } from '../core/report.ts';
import type { Facts, Severity, ThresholdValue } from '../core/rules.ts';
import type { MetricSample } from '../core/metrics.ts';
import type { StoredAgentOptions } from '../core/agent-options.ts';
import type { UploadReading } from '../core/sysinfo-mapping.ts';

export const USER_ROLES = ['admin', 'lead', 'manager'] as const;
export type UserRole = (typeof USER_ROLES)[number];
/** Where a person's alerts and digest go: Telegram, e-mail, or both. */
export const ALERT_CHANNELS = ['telegram', 'email', 'both'] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];
/** What an upload is: a sysinfo archive, a sysinfo XML, or metrics (`.status`). */
export const UPLOAD_KINDS = ['zip', 'xml', 'status'] as const;

export const INSTALLATION_KINDS = ['network', 'local', 'cloud'] as const;
export type InstallationKind = (typeof INSTALLATION_KINDS)[number];

const timestamp = (name: string) => integer(name, { mode: 'timestamp_ms' });
const flag = (name: string) => integer(name, { mode: 'boolean' });
const createdAt = () =>
  timestamp('created_at')
    .notNull()
    .default(sql`(unixepoch('subsec') * 1000)`);

/** Staff: managers, team leads and admins, identified by their Telegram id. */
export const users = sqliteTable(
  'users',
  {
    telegramId: integer('telegram_id').primaryKey(),
    name: text('name').notNull(),
    role: text('role', { enum: USER_ROLES }).notNull(),
    leadId: integer('lead_id').references((): AnySQLiteColumn => users.telegramId),
    active: flag('active').notNull().default(true),
    /** Telegram's language code from the user's last update: messages to their private chat use it. */
    language: text('language'),
    /**
     * Quiet hours as minutes of the day (in DISPLAY_TZ): warnings produced
     * between them wait until the end. Null: the default (QUIET_HOURS); equal: none.
     */
    quietFrom: integer('quiet_from'),
    quietTo: integer('quiet_to'),
    /** A manager's personal morning digest of their own clients. */
    personalDigest: flag('personal_digest').notNull().default(false),
    /** The person's e-mail address, for mail alerts (their channel, or the fallback when Telegram does not deliver). */
    email: text('email'),
    channel: text('channel', { enum: ALERT_CHANNELS }).notNull().default('telegram'),
    /** The mail server's last refusal of this address (5xx), and when; cleared by a mail that goes through or a new address. */
    emailFailure: text('email_failure'),
    emailFailedAt: timestamp('email_failed_at'),
    createdAt: createdAt(),
  },
  (t) => [index('users_lead_idx').on(t.leadId)],
);

export const clients = sqliteTable(
  'clients',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    inn: text('inn'),
    managerId: integer('manager_id').references(() => users.telegramId),
    /** Telegram chat (group or channel) for this client's alerts; else the manager's private chat. */
    chatId: integer('chat_id'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('clients_name_uq').on(t.name),
    uniqueIndex('clients_inn_uq').on(t.inn),
    index('clients_manager_idx').on(t.managerId),
    index('clients_chat_idx').on(t.chatId),
  ],
);

export const installations = sqliteTable(
  'installations',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    clientId: integer('client_id')
      .notNull()
      .references(() => clients.id),
    name: text('name').notNull(),
    kind: text('kind', { enum: INSTALLATION_KINDS }).notNull(),
    host: text('host'),
    ip: text('ip'),
    url: text('url'),
    /** Hosting provider, such as «Техэксперт.Облако»; installations sharing one can fail together. */
    provider: text('provider'),
    /** The licence manager the installation's key checks go to, probed by ping and TCP (`installation set --licman`). */
    licmanHost: text('licman_host'),
    licmanPort: integer('licman_port'),
    /** IANA time zone in which the agent's dates without an offset are read. */
    tz: text('tz').notNull().default('Europe/Moscow'),
    /** SHA-256 of the agent token; the token itself is never stored. */
    tokenHash: text('token_hash').notNull(),
    tokenIssuedAt: timestamp('token_issued_at').notNull(),
    /** Per-installation rule threshold overrides: rule id -> milliseconds or a minimum version. */
    thresholds: text('thresholds', { mode: 'json' }).$type<Record<string, ThresholdValue>>().notNull().default({}),
    monitoringEnabled: flag('monitoring_enabled').notNull().default(true),
    /**
     * The base name its files are uploaded under with a fleet upload token
     * (SMART's `<CLIENT>`, e.g. ROMASHKA for ROMASHKA.zip); unique regardless of case.
     */
    uploadName: text('upload_name'),
    /** The local settings its agent script was last written with (`dozor installation agent`), reused by the bot's «⚙️ Агент». */
    agentOptions: text('agent_options', { mode: 'json' }).$type<StoredAgentOptions>(),
    /** The account dozor reads `<url>/sysmon/metrics` with, and its password encrypted with SECRET_KEY (never in clear). */
    metricsUser: text('metrics_user'),
    metricsSecret: text('metrics_secret'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('installations_token_hash_uq').on(t.tokenHash),
    uniqueIndex('installations_client_name_uq').on(t.clientId, t.name),
    uniqueIndex('installations_upload_name_uq').on(sql`lower(${t.uploadName})`),
  ],
);

/**
 * When the rules must look at a monitored installation again without a new
 * report: a row per installation that has such a moment, none otherwise.
 * Usually only the time-based rules are due then (a report judges the others
 * as it arrives); `all_rules` asks for every rule, after something other than
 * a report changed what they would say: a threshold, a policy, monitoring
 * turned on, an incident closed by hand. Kept
 * apart from `installations` and without an index on `due_at` on purpose: a
 * sweep rewrites a deadline for every installation it judges, and rewriting
 * narrow rows costs a fraction of rewriting wide ones plus an index entry each,
 * while scanning 100,000 narrow rows for due ones takes milliseconds.
 */
export const checkSchedule = sqliteTable('check_schedule', {
  installationId: integer('installation_id')
    .primaryKey()
    .references(() => installations.id, { onDelete: 'cascade' }),
  dueAt: timestamp('due_at').notNull(),
  allRules: flag('all_rules').notNull().default(false),
});

/**
 * Every accepted report, as normalised facts. Pruned by age. No index here
 * is led by the installation: new reports of a thousand installations would
 * each write a page of it in a place of its own (most of what storing a
 * report cost, docs/performance.md). Repeats are found by an index led by
 * the report's own generation time, where new reports go to the end; an
 * installation's reports are reached newest first through `previous_id`, from
 * `installation_state.last_report_id`.
 */
export const reports = sqliteTable(
  'reports',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    installationId: integer('installation_id')
      .notNull()
      .references(() => installations.id),
    /** The agent's own report id (`auto:…` when it gave none). */
    reportId: text('report_id').notNull(),
    /** A hash of the body: the same id and content is a repeat; the same id with other content, a new report. */
    contentHash: text('content_hash').notNull().default(''),
    receivedAt: timestamp('received_at').notNull(),
    generatedAt: timestamp('generated_at'),
    formatVersion: integer('format_version').notNull(),
    facts: text('facts', { mode: 'json' }).$type<ReportFacts>().notNull(),
    /**
     * The generation time as epoch milliseconds (0 when the agent did not
     * give one): the first column of the repeat check, so that the check's
     * index grows at its end.
     */
    dedupeAt: integer('dedupe_at').notNull().default(0),
    /** The same installation's report stored before this one (null for its first). */
    previousId: integer('previous_id'),
  },
  (t) => [
    uniqueIndex('reports_repeat_uq').on(t.dedupeAt, t.installationId, t.reportId, t.contentHash),
    index('reports_received_idx').on(t.receivedAt),
  ],
);

/**
 * The latest known state per installation, updated in the transaction that
 * stores the report. No index besides the key: every report rewrites the row,
 * and nothing looks it up by any other column.
 */
export const installationState = sqliteTable(
  'installation_state',
  {
    installationId: integer('installation_id')
      .primaryKey()
      .references(() => installations.id),
    lastReceivedAt: timestamp('last_received_at').notNull(),
    lastGeneratedAt: timestamp('last_generated_at'),
    /** The installation's newest stored report: where its history is read from (`reports.previous_id`). */
    lastReportId: integer('last_report_id'),
    /** The latest evidence carrying the full state: an agent's report or a sysinfo (what KodeksXmlMissing goes by). */
    lastSysinfoAt: timestamp('last_sysinfo_at'),
    /** The latest heartbeat with metrics: a `.status` file or a metrics pull (what KodeksStatusMissing goes by). */
    lastStatusAt: timestamp('last_status_at'),
    shellVersion: text('shell_version'),
    updateNumber: integer('update_number'),
    operapDate: text('operap_date'),
    serviceState: text('service_state', { enum: SERVICE_STATES }),
    serviceAccount: text('service_account', { enum: SERVICE_ACCOUNTS }),
    senselockState: text('senselock_state', { enum: SENSELOCK_STATES }),
    kitAssembled: flag('kit_assembled'),
    dailyUpdate: flag('daily_update'),
    copybaseweb: flag('copybaseweb'),
    storagePath: text('storage_path'),
    storageReachable: flag('storage_reachable'),
    licenseLimit: integer('license_limit'),
    licensePeak: integer('license_peak'),
    licenseExhausted: integer('license_exhausted'),
    previousShellVersion: text('previous_shell_version'),
    shellVersionChangedAt: timestamp('shell_version_changed_at'),
    lastHealthyAt: timestamp('last_healthy_at'),
    seatsUsed: integer('seats_used'),
    databases: text('databases', { mode: 'json' }).$type<DatabaseFacts[]>(),
    serverState: text('server_state', { enum: SERVER_STATES }),
    serverMessage: text('server_message'),
    maintenanceSince: timestamp('maintenance_since'),
    licmanHost: text('licman_host'),
    licmanPort: integer('licman_port'),
    licmanState: text('licman_state', { enum: LICMAN_STATES }),
    /** The service account the server refused at its last login (the metrics pull); absent while logins work. */
    serviceLoginRefused: text('service_login_refused'),
    /** Where facts last came from when not from the installation's own agent (a fleet token's upload): fact → source. */
    factSources: text('fact_sources', { mode: 'json' }).$type<Record<string, string>>(),
  },
);

/**
 * The last report an installation's agent sent that we refused (with a valid
 * token), so "no reports" can be told apart from "reports we cannot read".
 */
export const intakeRejections = sqliteTable('intake_rejections', {
  installationId: integer('installation_id')
    .primaryKey()
    .references(() => installations.id),
  lastRejectedAt: timestamp('last_rejected_at').notNull(),
  reason: text('reason').notNull(),
  count: integer('count').notNull().default(1),
});

/** Who changed what. `actor` is `cli:<os user>`, `tg:<telegram id>` or `system`. */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: timestamp('at').notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subjectType: text('subject_type').notNull(),
    subjectId: text('subject_id'),
    details: text('details', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [index('audit_log_subject_idx').on(t.subjectType, t.subjectId)],
);

/** One incident per occurrence of a rule's condition at an installation. Never deleted. */
export const incidents = sqliteTable(
  'incidents',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    installationId: integer('installation_id')
      .notNull()
      .references(() => installations.id),
    ruleId: text('rule_id').notNull(),
    severity: text('severity', { enum: ['critical', 'warning', 'info'] }).$type<Severity>().notNull(),
    status: text('status', { enum: INCIDENT_STATUSES }).notNull(),
    /** The facts that made the condition hold when it opened. */
    details: text('details', { mode: 'json' }).$type<Facts>().notNull(),
    openedAt: timestamp('opened_at').notNull(),
    /** Null while held back (silence); set when people were told. */
    announcedAt: timestamp('announced_at'),
    acknowledgedAt: timestamp('acknowledged_at'),
    acknowledgedBy: text('acknowledged_by'),
    resolvedAt: timestamp('resolved_at'),
    resolvedBy: text('resolved_by'),
    resolution: text('resolution', { enum: RESOLUTIONS }),
    /** When an unacknowledged incident is announced again. */
    nextReminderAt: timestamp('next_reminder_at'),
    escalatedAt: timestamp('escalated_at'),
  },
  (t) => [
    uniqueIndex('incidents_one_active_uq')
      .on(t.installationId, t.ruleId)
      .where(sql`status <> 'resolved'`),
    index('incidents_status_idx').on(t.status),
    index('incidents_opened_idx').on(t.openedAt),
    index('incidents_installation_opened_idx').on(t.installationId, t.openedAt),
  ],
);

/** Every transition of an incident: who did what, when. */
export const incidentEvents = sqliteTable(
  'incident_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    incidentId: integer('incident_id')
      .notNull()
      .references(() => incidents.id),
    at: timestamp('at').notNull(),
    type: text('type').notNull(),
    actor: text('actor').notNull(),
    details: text('details', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [index('incident_events_incident_idx').on(t.incidentId)],
);

/**
 * Announcements waiting to reach people, written in the same transaction as the
 * change that caused them. Delivered in id order per chat; a failed delivery is
 * retried, never dropped.
 */
export const outbox = sqliteTable(
  'outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    createdAt: timestamp('created_at').notNull(),
    kind: text('kind').notNull(),
    chatId: integer('chat_id').notNull(),
    incidentId: integer('incident_id').references(() => incidents.id),
    payload: text('payload', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['pending', 'sent'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at').notNull(),
    /** Held back until then (a warning in the recipient's quiet hours); unlike a retry, it does not hold up the chat. */
    deliverAfter: timestamp('deliver_after'),
    lastError: text('last_error'),
    sentAt: timestamp('sent_at'),
    /** About a critical incident: within its chat it goes before messages that are not (order is kept among each). */
    urgent: flag('urgent').notNull().default(false),
    /** A critical alert Telegram had not delivered in time was looked at for the mail fallback then (mailed, or nobody to mail): once. */
    fallbackAt: timestamp('fallback_at'),
  },
  (t) => [
    index('outbox_pending_idx').on(t.chatId, t.id).where(sql`status = 'pending'`),
    index('outbox_pending_urgent_idx').on(t.chatId, t.urgent, t.id).where(sql`status = 'pending'`),
    // What was said about an incident, sent or not: its mails (nothing twice), a withdrawn opening.
    index('outbox_incident_idx').on(t.incidentId, t.kind),
  ],
);

/** Announcements held back for an installation, a client or a rule, for a while. */
export const silences = sqliteTable(
  'silences',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    installationId: integer('installation_id').references(() => installations.id),
    clientId: integer('client_id').references(() => clients.id),
    ruleId: text('rule_id'),
    startsAt: timestamp('starts_at').notNull(),
    endsAt: timestamp('ends_at').notNull(),
    author: text('author').notNull(),
    reason: text('reason').notNull(),
    createdAt: timestamp('created_at').notNull(),
    removedAt: timestamp('removed_at'),
    removedBy: text('removed_by'),
  },
  (t) => [index('silences_ends_idx').on(t.endsAt), index('silences_installation_rule_idx').on(t.installationId, t.ruleId, t.endsAt)],
);

/** Fleet-wide settings such as the minimum shell version. */
export const policies = sqliteTable('policies', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: timestamp('updated_at').notNull(),
  updatedBy: text('updated_by').notNull(),
});

/** Someone unknown pressed /start: admins decide whether they become staff. */
export const accessRequests = sqliteTable('access_requests', {
  telegramId: integer('telegram_id').primaryKey(),
  name: text('name').notNull(),
  username: text('username'),
  language: text('language'),
  requestedAt: timestamp('requested_at').notNull(),
  status: text('status', { enum: ['pending', 'approved', 'refused'] }).notNull(),
  decidedBy: integer('decided_by'),
  decidedAt: timestamp('decided_at'),
});

/** Which Telegram message announced which incident, so acknowledgements and resolutions can edit it. */
export const telegramMessages = sqliteTable(
  'telegram_messages',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    chatId: integer('chat_id').notNull(),
    messageId: integer('message_id').notNull(),
    incidentId: integer('incident_id')
      .notNull()
      .references(() => incidents.id),
    /** `alert` (the announcement itself, alone or in a group), `reminder`, `escalation`, `wake` (the morning call), or `follows` (an earlier alert of the installation that lists it). */
    kind: text('kind').notNull(),
    createdAt: timestamp('created_at').notNull(),
  },
  (t) => [index('telegram_messages_incident_idx').on(t.incidentId), index('telegram_messages_message_idx').on(t.chatId, t.messageId)],
);

/** Small key-value state, such as the bot's conversations in progress (they survive a restart). */
export const keyValue = sqliteTable('key_value', {
  key: text('key').primaryKey(),
  value: text('value', { mode: 'json' }).$type<unknown>().notNull(),
  updatedAt: timestamp('updated_at').notNull(),
});

/**
 * Who does what when several instances share one database. A role (`role:outbox`,
 * `role:telegram-poll`) is held by one instance until `expires_at` (epoch ms) unless
 * renewed; a scheduled job (`job:sweep`) records the slot (its scheduled minute) last
 * claimed and whether that run finished. `fence` grows at every claim, so a holder
 * that lost its claim cannot renew or finish one that another took over.
 */
export const leases = sqliteTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  fence: integer('fence').notNull(),
  expiresAt: integer('expires_at').notNull(),
  slot: integer('slot'),
  finished: flag('finished').notNull().default(true),
  claimedAt: integer('claimed_at').notNull(),
});

/**
 * Failures counted per source address across every instance sharing the
 * database (invalid agent tokens, refused cabinet links): a fixed window of
 * `count` failures since `since` (epoch ms) per scope and address. Used on
 * PostgreSQL, where a balancer spreads one address over several instances;
 * one instance on SQLite counts in memory.
 */
export const failureCounts = sqliteTable(
  'failure_counts',
  {
    scope: text('scope').notNull(),
    address: text('address').notNull(),
    since: integer('since').notNull(),
    count: integer('count').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.address] })],
);

/** A digest is sent once per recipient, kind and day; the row is written with its outbox message. */
export const digestDeliveries = sqliteTable(
  'digest_deliveries',
  {
    recipientId: integer('recipient_id').notNull(),
    /** The digest's day in DIGEST_TZ, YYYY-MM-DD. */
    day: text('day').notNull(),
    kind: text('kind', { enum: ['team', 'personal'] }).notNull(),
    queuedAt: timestamp('queued_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.recipientId, t.day, t.kind] })],
);

/** Online licence figures per installation and day (the installation's calendar day): the base of sales signals. */
export const licenseDays = sqliteTable(
  'license_days',
  {
    installationId: integer('installation_id')
      .notNull()
      .references(() => installations.id),
    day: text('day').notNull(),
    limitHits: integer('limit_hits').notNull().default(0),
    maxPeak: integer('max_peak'),
    licenseLimit: integer('license_limit'),
  },
  (t) => [primaryKey({ columns: [t.installationId, t.day] }), index('license_days_day_idx').on(t.day)],
);

/**
 * Probe rounds per installation and calendar day (the installation's own), and
 * how many found it up: availability over days and months, kept for reports
 * long after the probe history itself is pruned.
 */
export const availabilityDays = sqliteTable(
  'availability_days',
  {
    installationId: integer('installation_id')
      .notNull()
      .references(() => installations.id),
    day: text('day').notNull(),
    rounds: integer('rounds').notNull(),
    up: integer('up').notNull(),
  },
  (t) => [primaryKey({ columns: [t.installationId, t.day] }), index('availability_days_day_idx').on(t.day)],
);

/** The version campaign's standing per digest scope, once a day, for its progress over time. */
export const campaignSnapshots = sqliteTable(
  'campaign_snapshots',
  {
    day: text('day').notNull(),
    /** `all`, `team:<lead id>` or `manager:<id>`. */
    scope: text('scope').notNull(),
    minVersion: text('min_version').notNull(),
    compliant: integer('compliant').notNull(),
    total: integer('total').notNull(),
    takenAt: timestamp('taken_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.scope] })],
);

/** The latest result of each probe of each installation, and how many failed in a row. */
export const probeState = sqliteTable(
  'probe_state',
  {
    installationId: integer('installation_id')
      .notNull()
      .references(() => installations.id),
    /** icmp, tcp, http or dns. */
    probe: text('probe').notNull(),
    ok: flag('ok').notNull(),
    consecutiveFailures: integer('consecutive_failures').notNull(),
    latencyMs: integer('latency_ms'),
    error: text('error'),
    detail: text('detail', { mode: 'json' }).$type<Record<string, unknown>>(),
    /** When the current run of failures began: when the problem started, for the alert. */
    failingSince: timestamp('failing_since'),
    checkedAt: timestamp('checked_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.installationId, t.probe] })],
);

/** Probe history, kept for a limited time (PROBE_HISTORY). */
export const probeResults = sqliteTable(
  'probe_results',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    installationId: integer('installation_id')
      .notNull()
      .references(() => installations.id),
    probe: text('probe').notNull(),
    at: timestamp('at').notNull(),
    ok: flag('ok').notNull(),
    latencyMs: integer('latency_ms'),
    error: text('error'),
  },
  (t) => [index('probe_results_at_idx').on(t.at), index('probe_results_installation_idx').on(t.installationId, t.probe, t.at)],
);

/**
 * Alerts from Alertmanager that match no installation, or more than one: kept
 * (one row per label set) so admins hear of each once and `dozor alerts
 * unmatched` lists them all.
 */
export const unmatchedAlerts = sqliteTable(
  'unmatched_alerts',
  {
    /** A hash of the alert's whole label set, as Alertmanager identifies alerts. */
    fingerprint: text('fingerprint').primaryKey(),
    alertname: text('alertname').notNull(),
    labels: text('labels', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    /** `none`: no installation fits; `ambiguous`: several do (their ids in `candidates`). */
    reason: text('reason', { enum: ['none', 'ambiguous'] }).notNull(),
    candidates: text('candidates', { mode: 'json' }).$type<number[]>().notNull(),
    status: text('status', { enum: ['firing', 'resolved'] }).notNull(),
    /** Its annotations and start as last sent, so it can become an incident at once when an admin says whose it is. */
    annotations: text('annotations', { mode: 'json' }).$type<Record<string, string>>().notNull().default({}),
    startsAt: text('starts_at'),
    firstSeenAt: timestamp('first_seen_at').notNull(),
    lastSeenAt: timestamp('last_seen_at').notNull(),
    count: integer('count').notNull().default(1),
  },
  (t) => [index('unmatched_alerts_seen_idx').on(t.lastSeenAt)],
);

/**
 * Whose alerts are those an admin has placed by hand: the source an alert
 * names (`instance:10.0.0.7`, `installation:Склад`; see `alertSource`) and
 * the installation its alerts belong to when nothing else matches.
 */
export const alertRoutes = sqliteTable('alert_routes', {
  source: text('source').primaryKey(),
  installationId: integer('installation_id')
    .notNull()
    .references(() => installations.id),
  createdAt: timestamp('created_at').notNull(),
  createdBy: text('created_by').notNull(),
});

/**
 * Fleet upload tokens: one secret shared by a distributor's scripts (as
 * SMART's are), the file's base name naming the installation. Stored hashed.
 */
export const uploadTokens = sqliteTable(
  'upload_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    label: text('label').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    createdBy: text('created_by').notNull(),
    revokedAt: timestamp('revoked_at'),
    /** The upload names this token may send (null: any); a fleet token lives on every client's server. */
    names: text('names', { mode: 'json' }).$type<string[]>(),
    /** The networks (CIDR) it may send from (null: anywhere). */
    networks: text('networks', { mode: 'json' }).$type<string[]>(),
  },
  (t) => [uniqueIndex('upload_tokens_hash_uq').on(t.tokenHash)],
);

/**
 * Files uploaded from the field (sysinfo archives and XML, metrics): the file
 * itself lies under DATA_DIR at `path`; a row exists only for a file stored
 * whole. Without an installation, the upload came under a fleet token with a
 * name no installation has yet (`dozor uploads assign` attaches it).
 */
export const uploads = sqliteTable(
  'uploads',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    installationId: integer('installation_id').references(() => installations.id),
    /** The file's base name (ROMASHKA for ROMASHKA.zip), as sent. */
    name: text('name').notNull(),
    kind: text('kind', { enum: UPLOAD_KINDS }).notNull(),
    /** Relative to DATA_DIR. */
    path: text('path').notNull(),
    size: integer('size').notNull(),
    sha256: text('sha256').notNull(),
    receivedAt: timestamp('received_at').notNull(),
    /** The `dealer` header SMART's scripts send, if any. */
    dealer: text('dealer'),
    /** Which token it came under: the installation's own agent token, or a fleet upload token (its id). */
    uploadTokenId: integer('upload_token_id').references(() => uploadTokens.id),
    /** The time written inside the file: a sysinfo's own date (by the mapping), a metrics file's `date:` line. */
    takenAt: timestamp('taken_at'),
    /** What reading the file by the sysinfo mapping gave: fields read, or why nothing could be. */
    reading: text('reading', { mode: 'json' }).$type<UploadReading>(),
  },
  (t) => [
    index('uploads_installation_idx').on(t.installationId, t.kind, t.receivedAt),
    index('uploads_unmatched_idx').on(t.name).where(sql`installation_id IS NULL`),
    index('uploads_token_idx').on(t.uploadTokenId, t.receivedAt),
  ],
);

/**
 * The latest metrics of each installation (`.status` uploads, pulls): the
 * whole sample set, when the Kodeks server took it and when it arrived; or,
 * when the latest could not be read, why.
 */
export const metricsSnapshots = sqliteTable('metrics_snapshots', {
  installationId: integer('installation_id')
    .primaryKey()
    .references(() => installations.id),
  /** By the Kodeks server's clock (the `date:` line), else when it arrived. */
  takenAt: timestamp('taken_at').notNull(),
  receivedAt: timestamp('received_at').notNull(),
  samples: text('samples', { mode: 'json' }).$type<MetricSample[]>().notNull(),
  /** Why the latest file could not be read (the samples are then the last ones that could). */
  error: text('error'),
  /** The upload it came from (not a reference: that file may be pruned while its samples are still the latest). */
  uploadId: integer('upload_id'),
});

/**
 * One-time links to the browser cabinet, sent by the bot's /web: only a hash
 * is kept; a link works once, within minutes of being sent.
 */
export const webLinks = sqliteTable('web_links', {
  tokenHash: text('token_hash').primaryKey(),
  userId: integer('user_id')
    .notNull()
    .references(() => users.telegramId),
  createdAt: timestamp('created_at').notNull(),
  expiresAt: timestamp('expires_at').notNull(),
  usedAt: timestamp('used_at'),
});

/**
 * Browser sessions, opened by a link: only a hash of the cookie is kept, with
 * the form token (CSRF) of the session; idle too long, or its person
 * disabled, a session is over.
 */
export const webSessions = sqliteTable(
  'web_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.telegramId),
    createdAt: timestamp('created_at').notNull(),
    lastSeenAt: timestamp('last_seen_at').notNull(),
    endedAt: timestamp('ended_at'),
  },
  (t) => [index('web_sessions_user_idx').on(t.userId)],
);
