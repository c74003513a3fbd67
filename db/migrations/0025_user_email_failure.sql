ALTER TABLE `users` ADD `email_failure` text;--> statement-breakpoint
ALTER TABLE `users` ADD `email_failed_at` integer;