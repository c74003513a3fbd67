ALTER TABLE `users` ADD `email` text;--> statement-breakpoint
ALTER TABLE `users` ADD `channel` text DEFAULT 'telegram' NOT NULL;