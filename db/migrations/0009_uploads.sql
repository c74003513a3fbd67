CREATE TABLE `upload_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`label` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`created_by` text NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `upload_tokens_hash_uq` ON `upload_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `uploads` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`installation_id` integer,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`path` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	`received_at` integer NOT NULL,
	`dealer` text,
	`upload_token_id` integer,
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`upload_token_id`) REFERENCES `upload_tokens`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `uploads_installation_idx` ON `uploads` (`installation_id`,`kind`,`received_at`);--> statement-breakpoint
CREATE INDEX `uploads_unmatched_idx` ON `uploads` (`name`) WHERE installation_id IS NULL;--> statement-breakpoint
ALTER TABLE `installations` ADD `upload_name` text;--> statement-breakpoint
CREATE UNIQUE INDEX `installations_upload_name_uq` ON `installations` (lower("upload_name"));