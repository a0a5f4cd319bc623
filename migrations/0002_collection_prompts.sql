ALTER TABLE "collections" ADD COLUMN "query_prefix" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "collections" ADD COLUMN "document_prefix" text DEFAULT '' NOT NULL;