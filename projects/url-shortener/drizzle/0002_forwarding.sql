ALTER TABLE `links` ADD `forward_query` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `links` ADD `forward_path` integer DEFAULT false NOT NULL;