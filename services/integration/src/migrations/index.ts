import type { Migration } from '@streambet/platform/sql/types';

/** The integration service's schema changes, applied at start in id order (none yet: its storage comes with a later issue (Twitch, Kick and YouTube integration)). */
export const integrationMigrations: readonly Migration[] = [];
