ALTER TABLE `installation_state` ADD `last_sysinfo_at` integer;--> statement-breakpoint
ALTER TABLE `installation_state` ADD `last_status_at` integer;--> statement-breakpoint
UPDATE `installation_state` SET `last_sysinfo_at` = (
  SELECT max(`at`) FROM (
    SELECT max(`received_at`) AS `at` FROM `reports` WHERE `reports`.`installation_id` = `installation_state`.`installation_id` AND `reports`.`report_id` NOT LIKE 'upload:%'
    UNION ALL
    SELECT max(`received_at`) FROM `uploads` WHERE `uploads`.`installation_id` = `installation_state`.`installation_id` AND `uploads`.`kind` IN ('zip', 'xml')
  )
);--> statement-breakpoint
UPDATE `installation_state` SET `last_status_at` = (
  SELECT max(`at`) FROM (
    SELECT max(`received_at`) AS `at` FROM `uploads` WHERE `uploads`.`installation_id` = `installation_state`.`installation_id` AND `uploads`.`kind` = 'status'
    UNION ALL
    SELECT `received_at` FROM `metrics_snapshots` WHERE `metrics_snapshots`.`installation_id` = `installation_state`.`installation_id`
  )
);
