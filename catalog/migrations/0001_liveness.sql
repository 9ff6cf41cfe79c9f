ALTER TABLE `switches` ADD `last_seen_at` integer;--> statement-breakpoint
ALTER TABLE `switches` ADD `draining` integer DEFAULT false NOT NULL;