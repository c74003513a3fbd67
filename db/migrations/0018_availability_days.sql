CREATE TABLE `availability_days` (
	`installation_id` integer NOT NULL,
	`day` text NOT NULL,
	`rounds` integer NOT NULL,
	`up` integer NOT NULL,
	PRIMARY KEY(`installation_id`, `day`),
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `availability_days_day_idx` ON `availability_days` (`day`);