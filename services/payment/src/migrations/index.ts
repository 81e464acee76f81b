import type { Migration } from '@streambet/platform/sql/types';

/** The payment service's schema changes, applied at start in id order (none yet: its storage comes with a later issue (payments: Stripe and MercadoPago)). */
export const paymentMigrations: readonly Migration[] = [];
