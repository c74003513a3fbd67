CREATE TABLE `failure_counts` (
	`scope` text NOT NULL,
	`address` text NOT NULL,
	`since` integer NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`scope`, `address`)
);
