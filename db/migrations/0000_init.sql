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
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`client_id`) REFERENCES `clients`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `installations_token_hash_uq` ON `installations` (`token_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `installations_client_name_uq` ON `installations` (`client_id`,`name`);--> statement-breakpoint
CREATE TABLE `intake_rejections` (
	`installation_id` integer PRIMARY KEY NOT NULL,
	`last_rejected_at` integer NOT NULL,
	`reason` text NOT NULL,
	`count` integer DEFAULT 1 NOT NULL,
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action
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