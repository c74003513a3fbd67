ALTER TABLE `uploads` ADD `taken_at` integer;--> statement-breakpoint
ALTER TABLE `uploads` ADD `reading` text;