CREATE TABLE `nonce_uses` (
	`key` integer PRIMARY KEY NOT NULL,
	`nc` integer,
	`expires_at` integer NOT NULL
);
