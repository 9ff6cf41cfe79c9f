CREATE TABLE `account` (
	`id` integer PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`realm` text NOT NULL,
	`name` text NOT NULL,
	`jurisdiction` text,
	`region_hint` text,
	`min_expires` integer NOT NULL,
	`max_expires` integer NOT NULL,
	`default_expires` integer NOT NULL,
	`max_bindings_per_device` integer NOT NULL,
	`overflow` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `bindings` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`device_id` text NOT NULL,
	`aor` text NOT NULL,
	`contact` text NOT NULL,
	`instance_id` text,
	`reg_id` integer,
	`call_id` text NOT NULL,
	`cseq` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`q` real,
	`path` text NOT NULL,
	`received` text,
	`user_agent` text,
	`switch_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `bindings_device_contact` ON `bindings` (`device_id`,`contact`);--> statement-breakpoint
CREATE INDEX `bindings_expires_at` ON `bindings` (`expires_at`);--> statement-breakpoint
CREATE TABLE `devices` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`ha1_md5` text NOT NULL,
	`ha1_sha256` text NOT NULL,
	`caller_id_name` text,
	`caller_id_number` text,
	`enabled` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `devices_username_unique` ON `devices` (`username`);--> statement-breakpoint
CREATE TABLE `numbers` (
	`number` text PRIMARY KEY NOT NULL,
	`device_id` text,
	`created_at` integer NOT NULL
);
