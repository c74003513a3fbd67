CREATE TABLE `check_schedule` (
	`installation_id` integer PRIMARY KEY NOT NULL,
	`due_at` integer NOT NULL,
	`all_rules` integer DEFAULT false NOT NULL,
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
-- Deadlines move over as they were (a disabled installation has none), asking for every rule once:
-- until now a scheduled check judged them all.
INSERT INTO `check_schedule` (`installation_id`, `due_at`, `all_rules`)
	SELECT `id`, `next_check_at`, 1 FROM `installations` WHERE `monitoring_enabled` = 1 AND `next_check_at` IS NOT NULL;--> statement-breakpoint
DROP INDEX `installations_next_check_idx`;--> statement-breakpoint
ALTER TABLE `installations` DROP COLUMN `next_check_at`;