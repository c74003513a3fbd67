CREATE TABLE `leases` (
	`name` text PRIMARY KEY NOT NULL,
	`holder` text NOT NULL,
	`fence` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`slot` integer,
	`finished` integer DEFAULT true NOT NULL,
	`claimed_at` integer NOT NULL
);
