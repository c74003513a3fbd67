CREATE TABLE `alert_routes` (
	`source` text PRIMARY KEY NOT NULL,
	`installation_id` integer NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
ALTER TABLE `unmatched_alerts` ADD `annotations` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `unmatched_alerts` ADD `starts_at` text;