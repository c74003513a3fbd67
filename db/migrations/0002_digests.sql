CREATE TABLE `campaign_snapshots` (
	`day` text NOT NULL,
	`scope` text NOT NULL,
	`min_version` text NOT NULL,
	`compliant` integer NOT NULL,
	`total` integer NOT NULL,
	`taken_at` integer NOT NULL,
	PRIMARY KEY(`day`, `scope`)
);
--> statement-breakpoint
CREATE TABLE `digest_deliveries` (
	`recipient_id` integer NOT NULL,
	`day` text NOT NULL,
	`kind` text NOT NULL,
	`queued_at` integer NOT NULL,
	PRIMARY KEY(`recipient_id`, `day`, `kind`)
);
--> statement-breakpoint
CREATE TABLE `license_days` (
	`installation_id` integer NOT NULL,
	`day` text NOT NULL,
	`limit_hits` integer DEFAULT 0 NOT NULL,
	`max_peak` integer,
	`license_limit` integer,
	PRIMARY KEY(`installation_id`, `day`),
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `license_days_day_idx` ON `license_days` (`day`);--> statement-breakpoint
ALTER TABLE `outbox` ADD `deliver_after` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `quiet_from` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `quiet_to` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `personal_digest` integer DEFAULT false NOT NULL;