CREATE TABLE "collection_versions" (
	"id" serial PRIMARY KEY NOT NULL,
	"collection_id" integer NOT NULL,
	"version" integer NOT NULL,
	"model_id" text NOT NULL,
	"model_revision" text,
	"pooling" text NOT NULL,
	"normalize" boolean NOT NULL,
	"max_tokens" integer NOT NULL,
	"dims" integer NOT NULL,
	"distance" text NOT NULL,
	"query_prefix" text DEFAULT '' NOT NULL,
	"document_prefix" text DEFAULT '' NOT NULL,
	"chunk_overlap" integer DEFAULT 0 NOT NULL,
	"quantize" text DEFAULT 'none' NOT NULL,
	"index_name" text NOT NULL,
	"status" text NOT NULL,
	"job_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ready_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "job_batches" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"status" text NOT NULL,
	"payload" jsonb NOT NULL,
	"external_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"records" integer NOT NULL,
	"done" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"lease_owner" text,
	"lease_expires_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "chunks" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "chunks" ADD COLUMN "content_hash" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "chunks" DROP CONSTRAINT "chunks_document_id_chunk_index_pk";--> statement-breakpoint
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_document_id_version_chunk_index_pk" PRIMARY KEY("document_id","version","chunk_index");--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "lease_owner" text;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "lease_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "collection_versions" ADD CONSTRAINT "collection_versions_collection_id_collections_id_fk" FOREIGN KEY ("collection_id") REFERENCES "public"."collections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "job_batches" ADD CONSTRAINT "job_batches_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "collection_versions_uq" ON "collection_versions" USING btree ("collection_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "job_batches_job_seq_uq" ON "job_batches" USING btree ("job_id","seq");--> statement-breakpoint
CREATE INDEX "job_batches_pending_idx" ON "job_batches" USING btree ("job_id","seq") WHERE "job_batches"."status" = 'pending';--> statement-breakpoint
-- Existing rows: every chunk was embedded from its document's current text, at its collection's version.
UPDATE "chunks" SET "content_hash" = d."content_hash", "version" = c."version" FROM "documents" d JOIN "collections" c ON c."id" = d."collection_id" WHERE d."id" = "chunks"."document_id";--> statement-breakpoint
INSERT INTO "collection_versions" ("collection_id", "version", "model_id", "model_revision", "pooling", "normalize", "max_tokens", "dims", "distance", "query_prefix", "document_prefix", "chunk_overlap", "quantize", "index_name", "status", "created_at", "ready_at")
SELECT "id", "version", "model_id", "model_revision", "pooling", "normalize", "max_tokens", "dims", "distance", "query_prefix", "document_prefix", "chunk_overlap", "quantize", "index_name", 'ready', "created_at", "created_at" FROM "collections";
