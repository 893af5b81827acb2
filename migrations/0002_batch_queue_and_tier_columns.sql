CREATE TABLE `batch_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`provider` text NOT NULL,
	`model` text NOT NULL,
	`status` text NOT NULL,
	`upstream_id` text,
	`upstream_status` text,
	`sending_at` integer,
	`input_file_id` text,
	`item_count` integer NOT NULL,
	`bytes` integer NOT NULL,
	`lease_until` integer,
	`error` text,
	`created_at` integer NOT NULL,
	`submitted_at` integer,
	`last_polled_at` integer,
	`ended_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `batch_jobs_upstream_id_unique` ON `batch_jobs` (`upstream_id`);--> statement-breakpoint
CREATE INDEX `batch_jobs_status_idx` ON `batch_jobs` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `deferred_items` (
	`id` text PRIMARY KEY NOT NULL,
	`request_id` text NOT NULL,
	`key_id` text NOT NULL,
	`surface` text NOT NULL,
	`status` text NOT NULL,
	`provider` text NOT NULL,
	`model` text NOT NULL,
	`requested_model` text NOT NULL,
	`family` text,
	`baseline_model` text NOT NULL,
	`route_reason` text NOT NULL,
	`tier_reason` text NOT NULL,
	`complexity` real,
	`scorer_version` text,
	`user` text,
	`team` text,
	`project` text,
	`tags` text NOT NULL,
	`request` text NOT NULL,
	`bytes` integer NOT NULL,
	`job_id` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`lease_until` integer,
	`result` text,
	`error` text,
	`served_tier` text,
	`usage` text,
	`http_status` integer,
	`ledgered` integer DEFAULT false NOT NULL,
	`announced` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`submitted_at` integer,
	`finished_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `deferred_items_request_id_unique` ON `deferred_items` (`request_id`);--> statement-breakpoint
CREATE INDEX `deferred_items_queue_idx` ON `deferred_items` (`status`,`provider`,`model`,`id`);--> statement-breakpoint
CREATE INDEX `deferred_items_key_idx` ON `deferred_items` (`key_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `deferred_items_job_idx` ON `deferred_items` (`job_id`);--> statement-breakpoint
CREATE INDEX `deferred_items_followup_idx` ON `deferred_items` (`ledgered`,`announced`,`finished_at`);--> statement-breakpoint
ALTER TABLE `usage_events` ADD `tier_reason` text;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `attempts` integer DEFAULT 1 NOT NULL;