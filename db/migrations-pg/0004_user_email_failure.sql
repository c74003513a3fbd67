ALTER TABLE "users" ADD COLUMN "email_failure" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "email_failed_at" bigint;