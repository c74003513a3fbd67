CREATE TABLE `probe_results` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`installation_id` integer NOT NULL,
	`probe` text NOT NULL,
	`at` integer NOT NULL,
	`ok` integer NOT NULL,
	`latency_ms` integer,
	`error` text,
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `probe_results_at_idx` ON `probe_results` (`at`);--> statement-breakpoint
CREATE INDEX `probe_results_installation_idx` ON `probe_results` (`installation_id`,`probe`,`at`);--> statement-breakpoint
CREATE TABLE `probe_state` (
	`installation_id` integer NOT NULL,
	`probe` text NOT NULL,
	`ok` integer NOT NULL,
	`consecutive_failures` integer NOT NULL,
	`latency_ms` integer,
	`error` text,
	`detail` text,
	`checked_at` integer NOT NULL,
	PRIMARY KEY(`installation_id`, `probe`),
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action
);
