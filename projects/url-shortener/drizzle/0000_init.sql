CREATE TABLE `links` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`code` text NOT NULL,
	`target` text NOT NULL,
	`url_hash` text NOT NULL,
	`redirect_status` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`expires_at` integer,
	`max_visits` integer,
	`visits` integer DEFAULT 0 NOT NULL,
	`deleted_at` integer,
	CONSTRAINT "links_redirect_status_check" CHECK("links"."redirect_status" IS NULL OR "links"."redirect_status" IN (301, 302, 307, 308)),
	CONSTRAINT "links_max_visits_check" CHECK("links"."max_visits" IS NULL OR "links"."max_visits" > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `links_code_unique` ON `links` (`code`);--> statement-breakpoint
CREATE INDEX `links_url_hash_idx` ON `links` (`url_hash`);--> statement-breakpoint
CREATE INDEX `links_expires_at_idx` ON `links` (`expires_at`) WHERE "links"."expires_at" IS NOT NULL;--> statement-breakpoint
CREATE TABLE `click_dimensions` (
	`link_id` integer NOT NULL,
	`day_start` integer NOT NULL,
	`dimension` text NOT NULL,
	`value` text NOT NULL,
	`humans` integer DEFAULT 0 NOT NULL,
	`bots` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`link_id`, `dimension`, `day_start`, `value`)
);
--> statement-breakpoint
CREATE TABLE `click_minutes` (
	`link_id` integer NOT NULL,
	`minute_start` integer NOT NULL,
	`humans` integer DEFAULT 0 NOT NULL,
	`bots` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`link_id`, `minute_start`)
);
--> statement-breakpoint
CREATE TABLE `click_totals` (
	`link_id` integer PRIMARY KEY NOT NULL,
	`humans` integer DEFAULT 0 NOT NULL,
	`bots` integer DEFAULT 0 NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`first_click_at` integer NOT NULL,
	`last_click_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `click_totals_total_idx` ON `click_totals` (`total`);