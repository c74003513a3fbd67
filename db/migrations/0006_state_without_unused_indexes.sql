DROP INDEX `installation_state_received_idx`;--> statement-breakpoint
DROP INDEX `installation_state_operap_idx`;