import type { Migration } from '../sql/types.js';

/**
 * The platform's tables, applied by every service together with its own migrations
 * (`migrate(sql, 'pool', [...platformMigrations, ...poolMigrations])`).
 *
 * `outbox`: events written in the same transaction as the state change they describe; the relay
 * publishes unpublished rows in `seq` order. `seq` is assigned at insert, inside the producing
 * transaction: two transactions touching the same aggregate serialise on its row lock, so for one
 * key `seq` order is commit order, which is the order consumers must see.
 *
 * `inbox`: one row per (consumer, event) already applied, written in the same transaction as the
 * consumer's effect, so a redelivered event is recognised and skipped.
 */
export const platformMigrations: readonly Migration[] = [
  {
    id: 'platform_0001_outbox',
    sql: `
CREATE TABLE outbox (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  topic text NOT NULL,
  key text NOT NULL,
  type text NOT NULL,
  payload bytea NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  occurred_at timestamptz NOT NULL,
  published_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX outbox_unpublished_seq ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_unpublished_key_seq ON outbox (key, seq) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
`,
  },
  {
    id: 'platform_0002_inbox',
    sql: `
CREATE TABLE inbox (
  consumer text NOT NULL,
  event_id text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
CREATE INDEX inbox_processed_at ON inbox (processed_at);
`,
  },
];
