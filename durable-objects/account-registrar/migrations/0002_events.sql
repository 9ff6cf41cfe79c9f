CREATE TABLE `events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`type` text NOT NULL,
	`device_id` text,
	`username` text,
	`contact` text,
	`source` text,
	`switch_id` text
);
