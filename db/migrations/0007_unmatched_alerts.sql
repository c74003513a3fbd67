CREATE TABLE `unmatched_alerts` (
	`fingerprint` text PRIMARY KEY NOT NULL,
	`alertname` text NOT NULL,
	`labels` text NOT NULL,
	`reason` text NOT NULL,
	`candidates` text NOT NULL,
	`status` text NOT NULL,
	`first_seen_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`count` integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `unmatched_alerts_seen_idx` ON `unmatched_alerts` (`last_seen_at`);