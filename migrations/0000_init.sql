CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`hash` text NOT NULL,
	`prefix` text NOT NULL,
	`user` text,
	`team` text,
	`project` text,
	`tags` text DEFAULT '{}' NOT NULL,
	`allowed_models` text DEFAULT '[]' NOT NULL,
	`allowed_families` text DEFAULT '[]' NOT NULL,
	`policy` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_unique` ON `api_keys` (`hash`);--> statement-breakpoint
CREATE INDEX `api_keys_team_idx` ON `api_keys` (`team`);--> statement-breakpoint
CREATE TABLE `catalog_overrides` (
	`id` text PRIMARY KEY NOT NULL,
	`body` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`name` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `usage_events` (
	`id` text PRIMARY KEY NOT NULL,
	`time` integer NOT NULL,
	`request_id` text NOT NULL,
	`key_id` text NOT NULL,
	`user` text,
	`team` text,
	`project` text,
	`tags` text DEFAULT '{}' NOT NULL,
	`surface` text NOT NULL,
	`requested_model` text NOT NULL,
	`served_model` text,
	`provider` text,
	`family` text,
	`tier` text NOT NULL,
	`stream` integer NOT NULL,
	`input_tokens` integer NOT NULL,
	`cached_input_tokens` integer NOT NULL,
	`cache_write_tokens` integer NOT NULL,
	`cache_write_1h_tokens` integer NOT NULL,
	`output_tokens` integer NOT NULL,
	`reasoning_tokens` integer NOT NULL,
	`cost_nusd` integer NOT NULL,
	`baseline_cost_nusd` integer NOT NULL,
	`routing_savings_nusd` integer NOT NULL,
	`caching_savings_nusd` integer NOT NULL,
	`tier_savings_nusd` integer NOT NULL,
	`cache` text NOT NULL,
	`complexity` real,
	`scorer_version` text,
	`route_reason` text,
	`latency_ms` integer NOT NULL,
	`ttft_ms` integer,
	`status` text NOT NULL,
	`http_status` integer NOT NULL,
	`error_type` text,
	`usage_estimated` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `usage_events_request_id_unique` ON `usage_events` (`request_id`);--> statement-breakpoint
CREATE INDEX `usage_events_time_idx` ON `usage_events` (`time`);--> statement-breakpoint
CREATE INDEX `usage_events_key_time_idx` ON `usage_events` (`key_id`,`time`);--> statement-breakpoint
CREATE INDEX `usage_events_team_time_idx` ON `usage_events` (`team`,`time`);