CREATE TABLE "access_requests" (
	"telegram_id" bigint PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"username" text,
	"language" text,
	"requested_at" bigint NOT NULL,
	"status" text NOT NULL,
	"decided_by" bigint,
	"decided_at" bigint
);
--> statement-breakpoint
CREATE TABLE "alert_routes" (
	"source" text PRIMARY KEY NOT NULL,
	"installation_id" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"created_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" bigint NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject_type" text NOT NULL,
	"subject_id" text,
	"details" jsonb
);
--> statement-breakpoint
CREATE TABLE "availability_days" (
	"installation_id" bigint NOT NULL,
	"day" text NOT NULL,
	"rounds" bigint NOT NULL,
	"up" bigint NOT NULL,
	CONSTRAINT "availability_days_installation_id_day_pk" PRIMARY KEY("installation_id","day")
);
--> statement-breakpoint
CREATE TABLE "campaign_snapshots" (
	"day" text NOT NULL,
	"scope" text NOT NULL,
	"min_version" text NOT NULL,
	"compliant" bigint NOT NULL,
	"total" bigint NOT NULL,
	"taken_at" bigint NOT NULL,
	CONSTRAINT "campaign_snapshots_day_scope_pk" PRIMARY KEY("day","scope")
);
--> statement-breakpoint
CREATE TABLE "check_schedule" (
	"installation_id" bigint PRIMARY KEY NOT NULL,
	"due_at" bigint NOT NULL,
	"all_rules" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "clients" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"inn" text,
	"manager_id" bigint,
	"chat_id" bigint,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "digest_deliveries" (
	"recipient_id" bigint NOT NULL,
	"day" text NOT NULL,
	"kind" text NOT NULL,
	"queued_at" bigint NOT NULL,
	CONSTRAINT "digest_deliveries_recipient_id_day_kind_pk" PRIMARY KEY("recipient_id","day","kind")
);
--> statement-breakpoint
CREATE TABLE "incident_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"incident_id" bigint NOT NULL,
	"at" bigint NOT NULL,
	"type" text NOT NULL,
	"actor" text NOT NULL,
	"details" jsonb
);
--> statement-breakpoint
CREATE TABLE "incidents" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"installation_id" bigint NOT NULL,
	"rule_id" text NOT NULL,
	"severity" text NOT NULL,
	"status" text NOT NULL,
	"details" jsonb NOT NULL,
	"opened_at" bigint NOT NULL,
	"announced_at" bigint,
	"acknowledged_at" bigint,
	"acknowledged_by" text,
	"resolved_at" bigint,
	"resolved_by" text,
	"resolution" text,
	"next_reminder_at" bigint,
	"escalated_at" bigint
);
--> statement-breakpoint
CREATE TABLE "installation_state" (
	"installation_id" bigint PRIMARY KEY NOT NULL,
	"last_received_at" bigint NOT NULL,
	"last_generated_at" bigint,
	"last_sysinfo_at" bigint,
	"last_status_at" bigint,
	"shell_version" text,
	"update_number" bigint,
	"operap_date" text,
	"service_state" text,
	"service_account" text,
	"senselock_state" text,
	"kit_assembled" boolean,
	"daily_update" boolean,
	"copybaseweb" boolean,
	"storage_path" text,
	"storage_reachable" boolean,
	"license_limit" bigint,
	"license_peak" bigint,
	"license_exhausted" bigint,
	"previous_shell_version" text,
	"shell_version_changed_at" bigint,
	"last_healthy_at" bigint,
	"seats_used" bigint,
	"databases" jsonb,
	"server_state" text,
	"server_message" text,
	"maintenance_since" bigint,
	"licman_host" text,
	"licman_port" bigint,
	"licman_state" text,
	"service_login_refused" text,
	"fact_sources" jsonb
);
--> statement-breakpoint
CREATE TABLE "installations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"client_id" bigint NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"host" text,
	"ip" text,
	"url" text,
	"provider" text,
	"licman_host" text,
	"licman_port" bigint,
	"tz" text DEFAULT 'Europe/Moscow' NOT NULL,
	"token_hash" text NOT NULL,
	"token_issued_at" bigint NOT NULL,
	"thresholds" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"monitoring_enabled" boolean DEFAULT true NOT NULL,
	"upload_name" text,
	"agent_options" jsonb,
	"metrics_user" text,
	"metrics_secret" text,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "intake_rejections" (
	"installation_id" bigint PRIMARY KEY NOT NULL,
	"last_rejected_at" bigint NOT NULL,
	"reason" text NOT NULL,
	"count" bigint DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "key_value" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "license_days" (
	"installation_id" bigint NOT NULL,
	"day" text NOT NULL,
	"limit_hits" bigint DEFAULT 0 NOT NULL,
	"max_peak" bigint,
	"license_limit" bigint,
	CONSTRAINT "license_days_installation_id_day_pk" PRIMARY KEY("installation_id","day")
);
--> statement-breakpoint
CREATE TABLE "metrics_snapshots" (
	"installation_id" bigint PRIMARY KEY NOT NULL,
	"taken_at" bigint NOT NULL,
	"received_at" bigint NOT NULL,
	"samples" jsonb NOT NULL,
	"error" text,
	"upload_id" bigint
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"created_at" bigint NOT NULL,
	"kind" text NOT NULL,
	"chat_id" bigint NOT NULL,
	"incident_id" bigint,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"next_attempt_at" bigint NOT NULL,
	"deliver_after" bigint,
	"last_error" text,
	"sent_at" bigint,
	"urgent" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"updated_at" bigint NOT NULL,
	"updated_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "probe_results" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"installation_id" bigint NOT NULL,
	"probe" text NOT NULL,
	"at" bigint NOT NULL,
	"ok" boolean NOT NULL,
	"latency_ms" bigint,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "probe_state" (
	"installation_id" bigint NOT NULL,
	"probe" text NOT NULL,
	"ok" boolean NOT NULL,
	"consecutive_failures" bigint NOT NULL,
	"latency_ms" bigint,
	"error" text,
	"detail" jsonb,
	"failing_since" bigint,
	"checked_at" bigint NOT NULL,
	CONSTRAINT "probe_state_installation_id_probe_pk" PRIMARY KEY("installation_id","probe")
);
--> statement-breakpoint
CREATE TABLE "reports" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"installation_id" bigint NOT NULL,
	"report_id" text NOT NULL,
	"content_hash" text DEFAULT '' NOT NULL,
	"received_at" bigint NOT NULL,
	"generated_at" bigint,
	"format_version" bigint NOT NULL,
	"facts" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "silences" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"installation_id" bigint,
	"client_id" bigint,
	"rule_id" text,
	"starts_at" bigint NOT NULL,
	"ends_at" bigint NOT NULL,
	"author" text NOT NULL,
	"reason" text NOT NULL,
	"created_at" bigint NOT NULL,
	"removed_at" bigint,
	"removed_by" text
);
--> statement-breakpoint
CREATE TABLE "telegram_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"chat_id" bigint NOT NULL,
	"message_id" bigint NOT NULL,
	"incident_id" bigint NOT NULL,
	"kind" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "unmatched_alerts" (
	"fingerprint" text PRIMARY KEY NOT NULL,
	"alertname" text NOT NULL,
	"labels" jsonb NOT NULL,
	"reason" text NOT NULL,
	"candidates" jsonb NOT NULL,
	"status" text NOT NULL,
	"annotations" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"starts_at" text,
	"first_seen_at" bigint NOT NULL,
	"last_seen_at" bigint NOT NULL,
	"count" bigint DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "upload_tokens" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"label" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL,
	"created_by" text NOT NULL,
	"revoked_at" bigint,
	"names" jsonb,
	"networks" jsonb
);
--> statement-breakpoint
CREATE TABLE "uploads" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"installation_id" bigint,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"path" text NOT NULL,
	"size" bigint NOT NULL,
	"sha256" text NOT NULL,
	"received_at" bigint NOT NULL,
	"dealer" text,
	"upload_token_id" bigint,
	"taken_at" bigint,
	"reading" jsonb
);
--> statement-breakpoint
CREATE TABLE "users" (
	"telegram_id" bigint PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"lead_id" bigint,
	"active" boolean DEFAULT true NOT NULL,
	"language" text,
	"quiet_from" bigint,
	"quiet_to" bigint,
	"personal_digest" boolean DEFAULT false NOT NULL,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "web_links" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"user_id" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"used_at" bigint
);
--> statement-breakpoint
CREATE TABLE "web_sessions" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"user_id" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"last_seen_at" bigint NOT NULL,
	"ended_at" bigint
);
--> statement-breakpoint
ALTER TABLE "alert_routes" ADD CONSTRAINT "alert_routes_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "availability_days" ADD CONSTRAINT "availability_days_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "check_schedule" ADD CONSTRAINT "check_schedule_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "clients" ADD CONSTRAINT "clients_manager_id_users_telegram_id_fk" FOREIGN KEY ("manager_id") REFERENCES "public"."users"("telegram_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incident_events" ADD CONSTRAINT "incident_events_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "installation_state" ADD CONSTRAINT "installation_state_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "installations" ADD CONSTRAINT "installations_client_id_clients_id_fk" FOREIGN KEY ("client_id") REFERENCES "public"."clients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "intake_rejections" ADD CONSTRAINT "intake_rejections_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "license_days" ADD CONSTRAINT "license_days_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metrics_snapshots" ADD CONSTRAINT "metrics_snapshots_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "probe_results" ADD CONSTRAINT "probe_results_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "probe_state" ADD CONSTRAINT "probe_state_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reports" ADD CONSTRAINT "reports_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "silences" ADD CONSTRAINT "silences_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "silences" ADD CONSTRAINT "silences_client_id_clients_id_fk" FOREIGN KEY ("client_id") REFERENCES "public"."clients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "telegram_messages" ADD CONSTRAINT "telegram_messages_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "uploads" ADD CONSTRAINT "uploads_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "uploads" ADD CONSTRAINT "uploads_upload_token_id_upload_tokens_id_fk" FOREIGN KEY ("upload_token_id") REFERENCES "public"."upload_tokens"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_lead_id_users_telegram_id_fk" FOREIGN KEY ("lead_id") REFERENCES "public"."users"("telegram_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "web_links" ADD CONSTRAINT "web_links_user_id_users_telegram_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("telegram_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "web_sessions" ADD CONSTRAINT "web_sessions_user_id_users_telegram_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("telegram_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_subject_idx" ON "audit_log" USING btree ("subject_type","subject_id");--> statement-breakpoint
CREATE INDEX "availability_days_day_idx" ON "availability_days" USING btree ("day");--> statement-breakpoint
CREATE UNIQUE INDEX "clients_name_uq" ON "clients" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "clients_inn_uq" ON "clients" USING btree ("inn");--> statement-breakpoint
CREATE INDEX "clients_manager_idx" ON "clients" USING btree ("manager_id");--> statement-breakpoint
CREATE INDEX "clients_chat_idx" ON "clients" USING btree ("chat_id");--> statement-breakpoint
CREATE INDEX "incident_events_incident_idx" ON "incident_events" USING btree ("incident_id");--> statement-breakpoint
CREATE UNIQUE INDEX "incidents_one_active_uq" ON "incidents" USING btree ("installation_id","rule_id") WHERE status <> 'resolved';--> statement-breakpoint
CREATE INDEX "incidents_status_idx" ON "incidents" USING btree ("status");--> statement-breakpoint
CREATE INDEX "incidents_opened_idx" ON "incidents" USING btree ("opened_at");--> statement-breakpoint
CREATE INDEX "incidents_installation_opened_idx" ON "incidents" USING btree ("installation_id","opened_at");--> statement-breakpoint
CREATE UNIQUE INDEX "installations_token_hash_uq" ON "installations" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "installations_client_name_uq" ON "installations" USING btree ("client_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "installations_upload_name_uq" ON "installations" USING btree (lower("upload_name"));--> statement-breakpoint
CREATE INDEX "license_days_day_idx" ON "license_days" USING btree ("day");--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("chat_id","id") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "outbox_pending_urgent_idx" ON "outbox" USING btree ("chat_id","urgent","id") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "probe_results_at_idx" ON "probe_results" USING btree ("at");--> statement-breakpoint
CREATE INDEX "probe_results_installation_idx" ON "probe_results" USING btree ("installation_id","probe","at");--> statement-breakpoint
CREATE UNIQUE INDEX "reports_installation_report_content_uq" ON "reports" USING btree ("installation_id","report_id","content_hash");--> statement-breakpoint
CREATE INDEX "reports_received_idx" ON "reports" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "silences_ends_idx" ON "silences" USING btree ("ends_at");--> statement-breakpoint
CREATE INDEX "silences_installation_rule_idx" ON "silences" USING btree ("installation_id","rule_id","ends_at");--> statement-breakpoint
CREATE INDEX "telegram_messages_incident_idx" ON "telegram_messages" USING btree ("incident_id");--> statement-breakpoint
CREATE INDEX "telegram_messages_message_idx" ON "telegram_messages" USING btree ("chat_id","message_id");--> statement-breakpoint
CREATE INDEX "unmatched_alerts_seen_idx" ON "unmatched_alerts" USING btree ("last_seen_at");--> statement-breakpoint
CREATE UNIQUE INDEX "upload_tokens_hash_uq" ON "upload_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "uploads_installation_idx" ON "uploads" USING btree ("installation_id","kind","received_at");--> statement-breakpoint
CREATE INDEX "uploads_unmatched_idx" ON "uploads" USING btree ("name") WHERE installation_id IS NULL;--> statement-breakpoint
CREATE INDEX "uploads_token_idx" ON "uploads" USING btree ("upload_token_id","received_at");--> statement-breakpoint
CREATE INDEX "users_lead_idx" ON "users" USING btree ("lead_id");--> statement-breakpoint
CREATE INDEX "web_sessions_user_idx" ON "web_sessions" USING btree ("user_id");