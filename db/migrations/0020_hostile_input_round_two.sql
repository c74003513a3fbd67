ALTER TABLE `installation_state` ADD `fact_sources` text;--> statement-breakpoint
ALTER TABLE `outbox` ADD `urgent` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `outbox_pending_urgent_idx` ON `outbox` (`chat_id`,`urgent`,`id`) WHERE status = 'pending';--> statement-breakpoint
ALTER TABLE `upload_tokens` ADD `names` text;--> statement-breakpoint
ALTER TABLE `upload_tokens` ADD `networks` text;--> statement-breakpoint
CREATE INDEX `uploads_token_idx` ON `uploads` (`upload_token_id`,`received_at`);--> statement-breakpoint
ALTER TABLE `web_sessions` DROP COLUMN `csrf`;--> statement-breakpoint
UPDATE `outbox` SET `urgent` = 1 WHERE `status` = 'pending' AND json_extract(`payload`, '$.severity') = 'critical';
