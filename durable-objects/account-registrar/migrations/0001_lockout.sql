CREATE TABLE `auth_failures` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`device_id` text NOT NULL,
	`source` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `auth_failures_device_at` ON `auth_failures` (`device_id`,`at`);--> statement-breakpoint
ALTER TABLE `account` ADD `expires_jitter` real DEFAULT 0.1 NOT NULL;--> statement-breakpoint
ALTER TABLE `account` ADD `lockout_threshold` integer DEFAULT 5 NOT NULL;--> statement-breakpoint
ALTER TABLE `account` ADD `lockout_window` integer DEFAULT 300 NOT NULL;--> statement-breakpoint
ALTER TABLE `account` ADD `lockout_duration` integer DEFAULT 900 NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `locked_until` integer;