CREATE TABLE `messages` (
	`room` text NOT NULL,
	`seq` integer NOT NULL,
	`sender` text NOT NULL,
	`client_id` text NOT NULL,
	`body` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`room`, `seq`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_room_sender_client_id` ON `messages` (`room`,`sender`,`client_id`);--> statement-breakpoint
CREATE TABLE `room_members` (
	`room` text NOT NULL,
	`user` text NOT NULL,
	`joined_at` integer NOT NULL,
	`last_read` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`room`, `user`),
	FOREIGN KEY (`room`) REFERENCES `rooms`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `room_members_user` ON `room_members` (`user`);--> statement-breakpoint
CREATE TABLE `rooms` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL
);
