ALTER TABLE `usage_events` ADD `shadow_model` text;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `shadow_cost_nusd` integer;