ALTER TABLE `installation_state` ADD `service_login_refused` text;--> statement-breakpoint
ALTER TABLE `installations` ADD `licman_host` text;--> statement-breakpoint
ALTER TABLE `installations` ADD `licman_port` integer;