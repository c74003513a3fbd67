CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`subject_type` text NOT NULL,
	`subject_id` text,
	`details` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_subject_idx` ON `audit_log` (`subject_type`,`subject_id`);--> statement-breakpoint
CREATE TABLE `clients` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`inn` text,
	`manager_id` integer,
	`chat_id` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`manager_id`) REFERENCES `users`(`telegram_id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `clients_name_uq` ON `clients` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `clients_inn_uq` ON `clients` (`inn`);--> statement-breakpoint
CREATE INDEX `clients_manager_idx` ON `clients` (`manager_id`);--> statement-breakpoint
CREATE TABLE `incident_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`incident_id` integer NOT NULL,
	`at` integer NOT NULL,
	`type` text NOT NULL,
	`actor` text NOT NULL,
	`details` text,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `incident_events_incident_idx` ON `incident_events` (`incident_id`);--> statement-breakpoint
CREATE TABLE `incidents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`installation_id` integer NOT NULL,
	`rule_id` text NOT NULL,
	`severity` text NOT NULL,
	`status` text NOT NULL,
	`details` text NOT NULL,
	`opened_at` integer NOT NULL,
	`announced_at` integer,
	`acknowledged_at` integer,
	`acknowledged_by` text,
	`resolved_at` integer,
	`resolved_by` text,
	`resolution` text,
	`next_reminder_at` integer,
	`escalated_at` integer,
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `incidents_one_active_uq` ON `incidents` (`installation_id`,`rule_id`) WHERE status <> 'resolved';--> statement-breakpoint
CREATE INDEX `incidents_status_idx` ON `incidents` (`status`);--> statement-breakpoint
CREATE INDEX `incidents_opened_idx` ON `incidents` (`opened_at`);--> statement-breakpoint
CREATE TABLE `installation_state` (
	`installation_id` integer PRIMARY KEY NOT NULL,
	`last_received_at` integer NOT NULL,
	`last_generated_at` integer,
	`shell_version` text,
	`update_number` integer,
	`operap_date` text,
	`service_state` text,
	`service_account` text,
	`senselock_state` text,
	`kit_assembled` integer,
	`daily_update` integer,
	`copybaseweb` integer,
	`storage_path` text,
	`storage_reachable` integer,
	`license_limit` integer,
	`license_peak` integer,
	`license_exhausted` integer,
	`previous_shell_version` text,
	`shell_version_changed_at` integer,
	`last_healthy_at` integer,
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `installation_state_received_idx` ON `installation_state` (`last_received_at`);--> statement-breakpoint
CREATE INDEX `installation_state_operap_idx` ON `installation_state` (`operap_date`);--> statement-breakpoint
CREATE TABLE `installations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`client_id` integer NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`host` text,
	`ip` text,
	`url` text,
	`provider` text,
	`tz` text DEFAULT 'Europe/Moscow' NOT NULL,
	`token_hash` text NOT NULL,
	`token_issued_at` integer NOT NULL,
	`thresholds` text DEFAULT '{}' NOT NULL,
	`monitoring_enabled` integer DEFAULT true NOT NULL,
	`next_check_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`client_id`) REFERENCES `clients`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `installations_token_hash_uq` ON `installations` (`token_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `installations_client_name_uq` ON `installations` (`client_id`,`name`);--> statement-breakpoint
CREATE INDEX `installations_next_check_idx` ON `installations` (`next_check_at`);--> statement-breakpoint
CREATE TABLE `intake_rejections` (
	`installation_id` integer PRIMARY KEY NOT NULL,
	`last_rejected_at` integer NOT NULL,
	`reason` text NOT NULL,
	`count` integer DEFAULT 1 NOT NULL,
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`created_at` integer NOT NULL,
	`kind` text NOT NULL,
	`chat_id` integer NOT NULL,
	`incident_id` integer,
	`payload` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text,
	`sent_at` integer,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `outbox_pending_idx` ON `outbox` (`chat_id`,`id`) WHERE status = 'pending';--> statement-breakpoint
CREATE TABLE `policies` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL,
	`updated_by` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `reports` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`installation_id` integer NOT NULL,
	`report_id` text NOT NULL,
	`received_at` integer NOT NULL,
	`generated_at` integer,
	`format_version` integer NOT NULL,
	`facts` text NOT NULL,
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `reports_installation_report_uq` ON `reports` (`installation_id`,`report_id`);--> statement-breakpoint
CREATE INDEX `reports_received_idx` ON `reports` (`received_at`);--> statement-breakpoint
CREATE TABLE `silences` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`installation_id` integer,
	`client_id` integer,
	`rule_id` text,
	`starts_at` integer NOT NULL,
	`ends_at` integer NOT NULL,
	`author` text NOT NULL,
	`reason` text NOT NULL,
	`created_at` integer NOT NULL,
	`removed_at` integer,
	`removed_by` text,
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`client_id`) REFERENCES `clients`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `silences_ends_idx` ON `silences` (`ends_at`);--> statement-breakpoint
CREATE TABLE `users` (
	`telegram_id` integer PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`lead_id` integer,
	`active` integer DEFAULT true NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`lead_id`) REFERENCES `users`(`telegram_id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `users_lead_idx` ON `users` (`lead_id`);