CREATE TABLE `import_rows` (
	`row` integer PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`line` integer,
	`username` text NOT NULL,
	`changes` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `imports` (
	`id` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`mode` text NOT NULL,
	`format` text NOT NULL,
	`total` integer NOT NULL,
	`done` integer NOT NULL,
	`created` integer NOT NULL,
	`updated` integer NOT NULL,
	`refused` integer NOT NULL,
	`errors` text NOT NULL,
	`detail` text,
	`may_add_numbers` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
