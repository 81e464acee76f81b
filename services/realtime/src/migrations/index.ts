import type { Migration } from '@streambet/platform/sql/types';

/** The realtime service's schema changes, applied at start in id order (none yet: its storage comes with issue 5 (the live layer)). */
export const realtimeMigrations: readonly Migration[] = [];
