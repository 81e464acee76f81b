import type { Migration } from '@streambet/platform/sql/types';

/** The pool service's schema changes, applied at start in id order (none yet: its storage comes with issue 4 (parimutuel markets end to end)). */
export const poolMigrations: readonly Migration[] = [];
