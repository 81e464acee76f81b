import type { Migration } from '@streambet/platform/sql/types';
import { identityMigrations } from './identity.js';
import { ledgerMigrations } from './ledger.js';

/** The user service's schema changes, applied at start in id order: identity 0001–0099, ledger 0100–0199. */
export const userMigrations: readonly Migration[] = [...identityMigrations, ...ledgerMigrations];
