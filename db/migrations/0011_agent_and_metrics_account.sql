ALTER TABLE `installations` ADD `agent_options` text;--> statement-breakpoint
ALTER TABLE `installations` ADD `metrics_user` text;--> statement-breakpoint
ALTER TABLE `installations` ADD `metrics_secret` text;