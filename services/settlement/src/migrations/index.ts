import type { Migration } from '@streambet/platform/sql/types';

/** The settlement service's schema changes, applied at start in id order (none yet: its storage comes with issue 4 (parimutuel markets end to end)). */
export const settlementMigrations: readonly Migration[] = [];
