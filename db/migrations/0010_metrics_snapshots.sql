CREATE TABLE `metrics_snapshots` (
	`installation_id` integer PRIMARY KEY NOT NULL,
	`taken_at` integer NOT NULL,
	`received_at` integer NOT NULL,
	`samples` text NOT NULL,
	`error` text,
	`upload_id` integer,
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE no action
);
