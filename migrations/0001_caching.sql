CREATE TABLE `prompt_cache_returns` (
	`key_id` text NOT NULL,
	`team` text,
	`prefix_hash` text NOT NULL,
	`model` text NOT NULL,
	`hour` integer NOT NULL,
	`writes` integer DEFAULT 0 NOT NULL,
	`writes_1h` integer DEFAULT 0 NOT NULL,
	`reads` integer DEFAULT 0 NOT NULL,
	`paid_back` integer DEFAULT 0 NOT NULL,
	`unpaid` integer DEFAULT 0 NOT NULL,
	`unread` integer DEFAULT 0 NOT NULL,
	`writer` text NOT NULL,
	PRIMARY KEY(`key_id`, `prefix_hash`, `model`, `hour`, `writer`)
);
--> statement-breakpoint
CREATE INDEX `prompt_cache_returns_hour_idx` ON `prompt_cache_returns` (`hour`);--> statement-breakpoint
CREATE TABLE `response_cache` (
	`key` text PRIMARY KEY NOT NULL,
	`scope` text NOT NULL,
	`model` text NOT NULL,
	`completion` text NOT NULL,
	`tier` text NOT NULL,
	`fill_cost_nusd` integer NOT NULL,
	`fill_baseline_nusd` integer NOT NULL,
	`fill_routing_savings_nusd` integer NOT NULL,
	`fill_caching_savings_nusd` integer NOT NULL,
	`fill_tier_savings_nusd` integer NOT NULL,
	`size_bytes` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`last_used_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `response_cache_expires_idx` ON `response_cache` (`expires_at`);--> statement-breakpoint
CREATE INDEX `response_cache_used_idx` ON `response_cache` (`last_used_at`);--> statement-breakpoint
CREATE INDEX `response_cache_scope_idx` ON `response_cache` (`scope`);