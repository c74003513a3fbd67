CREATE TABLE "leases" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"fence" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"slot" bigint,
	"finished" boolean DEFAULT true NOT NULL,
	"claimed_at" bigint NOT NULL
);
