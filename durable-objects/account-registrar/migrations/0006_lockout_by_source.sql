CREATE TABLE `auth_sources` (
	`device_id` text NOT NULL,
	`source` text NOT NULL,
	`window_start` integer NOT NULL,
	`failures` integer NOT NULL,
	`locked_until` integer,
	`last_at` integer NOT NULL,
	PRIMARY KEY(`device_id`, `source`)
);
--> statement-breakpoint
ALTER TABLE `account` ADD `lockout_device_threshold` integer DEFAULT 10 NOT NULL;