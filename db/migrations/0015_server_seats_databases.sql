ALTER TABLE `installation_state` ADD `seats_used` integer;--> statement-breakpoint
ALTER TABLE `installation_state` ADD `databases` text;--> statement-breakpoint
ALTER TABLE `installation_state` ADD `server_state` text;--> statement-breakpoint
ALTER TABLE `installation_state` ADD `server_message` text;--> statement-breakpoint
ALTER TABLE `installation_state` ADD `maintenance_since` integer;--> statement-breakpoint
ALTER TABLE `installation_state` ADD `licman_host` text;--> statement-breakpoint
ALTER TABLE `installation_state` ADD `licman_port` integer;--> statement-breakpoint
ALTER TABLE `installation_state` ADD `licman_state` text;