import type { Migration } from '@streambet/platform/sql/types';

/** The analytics service's schema changes, applied at start in id order (none yet: its storage comes with a later issue (analytics and fraud flags)). */
export const analyticsMigrations: readonly Migration[] = [];
