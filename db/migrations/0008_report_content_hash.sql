DROP INDEX `reports_installation_report_uq`;--> statement-breakpoint
ALTER TABLE `reports` ADD `content_hash` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `reports_installation_report_content_uq` ON `reports` (`installation_id`,`report_id`,`content_hash`);