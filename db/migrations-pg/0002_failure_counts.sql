CREATE TABLE "failure_counts" (
	"scope" text NOT NULL,
	"address" text NOT NULL,
	"since" bigint NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "failure_counts_scope_address_pk" PRIMARY KEY("scope","address")
);
