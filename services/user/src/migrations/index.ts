import type { Migration } from '@streambet/platform/sql/types';

/** The user service's schema changes, applied at start in id order. */
export const userMigrations: readonly Migration[] = [];
