CREATE TABLE `access_requests` (
	`telegram_id` integer PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`username` text,
	`language` text,
	`requested_at` integer NOT NULL,
	`status` text NOT NULL,
	`decided_by` integer,
	`decided_at` integer
);
--> statement-breakpoint
CREATE TABLE `key_value` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `telegram_messages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`chat_id` integer NOT NULL,
	`message_id` integer NOT NULL,
	`incident_id` integer NOT NULL,
	`kind` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `telegram_messages_incident_idx` ON `telegram_messages` (`incident_id`);--> statement-breakpoint
CREATE INDEX `telegram_messages_message_idx` ON `telegram_messages` (`chat_id`,`message_id`);--> statement-breakpoint
ALTER TABLE `users` ADD `language` text;