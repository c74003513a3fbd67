ALTER TABLE "installation_state" ADD COLUMN "last_report_id" bigint;--> statement-breakpoint
ALTER TABLE "reports" ADD COLUMN "dedupe_at" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reports" ADD COLUMN "previous_id" bigint;--> statement-breakpoint
UPDATE "reports" SET "dedupe_at" = coalesce("reports"."generated_at", 0), "previous_id" = "chain"."previous" FROM (SELECT "id", lag("id") OVER (PARTITION BY "installation_id" ORDER BY "id") AS "previous" FROM "reports") AS "chain" WHERE "reports"."id" = "chain"."id";--> statement-breakpoint
UPDATE "installation_state" SET "last_report_id" = "latest"."id" FROM (SELECT "installation_id", max("id") AS "id" FROM "reports" GROUP BY "installation_id") AS "latest" WHERE "installation_state"."installation_id" = "latest"."installation_id";--> statement-breakpoint
DROP INDEX "reports_installation_report_content_uq";--> statement-breakpoint
CREATE UNIQUE INDEX "reports_repeat_uq" ON "reports" USING btree ("dedupe_at","installation_id","report_id","content_hash");
