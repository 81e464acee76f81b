-- EXCHANGE markets (issue 18): orders, fills and per-user exposure holds of the back/lay books.
-- The in-memory books of packages/exchange are a cache of these rows: a book is rebuilt from the
-- resting orders (remaining > 0, in seq order) whenever its writer's seq differs from be_xbooks.seq.

-- One row per EXCHANGE market: the writer lease (one replica matches a market at a time), the
-- sequence of changes (fencing: a writer whose in-memory seq differs rebuilds first), and the
-- result of the lapse at lock.
CREATE TABLE be_xbooks (
  market_id text PRIMARY KEY,
  seq bigint NOT NULL DEFAULT 0,
  writer_id text NOT NULL DEFAULT '',
  lease_until_ms bigint NOT NULL DEFAULT 0,
  lapsed boolean NOT NULL DEFAULT false,
  lapsed_order_count bigint NOT NULL DEFAULT 0,
  lapsed_stake_minor bigint NOT NULL DEFAULT 0,
  voided_fill_count bigint NOT NULL DEFAULT 0,
  settled_at_ms bigint NOT NULL DEFAULT 0,
  settlement text NOT NULL DEFAULT ''
);

-- One row per order. status: PENDING (intent: its hold is being taken), OPEN (accepted; the
-- remainder stake − matched − canceled − lapsed − voided may rest), VOIDED (hold failed).
-- order_no is the order's id in the in-memory book and its time priority (a market-wide sequence).
CREATE TABLE be_xorders (
  order_id text PRIMARY KEY,
  market_id text NOT NULL,
  order_no bigint NOT NULL,
  user_id text NOT NULL,
  idempotency_key text NOT NULL,
  outcome_id text NOT NULL,
  outcome_index integer NOT NULL,
  side text NOT NULL CHECK (side IN ('back', 'lay')),
  odds_hundredths integer NOT NULL,
  tick integer NOT NULL,
  currency text NOT NULL,
  stake_minor bigint NOT NULL CHECK (stake_minor > 0),
  matched_minor bigint NOT NULL DEFAULT 0,
  canceled_minor bigint NOT NULL DEFAULT 0,
  lapsed_minor bigint NOT NULL DEFAULT 0,
  voided_minor bigint NOT NULL DEFAULT 0,
  status text NOT NULL CHECK (status IN ('PENDING', 'OPEN', 'VOIDED')),
  void_reason text NOT NULL DEFAULT '',
  placed_at_ms bigint NOT NULL,
  updated_at_ms bigint NOT NULL,
  UNIQUE (user_id, idempotency_key),
  UNIQUE (market_id, order_no)
);
CREATE INDEX be_xorders_resting ON be_xorders (market_id, order_no)
  WHERE status <> 'VOIDED' AND stake_minor > matched_minor + canceled_minor + lapsed_minor + voided_minor;
CREATE INDEX be_xorders_user ON be_xorders (user_id, placed_at_ms DESC);

-- One row per match: the back and the lay order, at the maker's price.
CREATE TABLE be_xfills (
  match_id text PRIMARY KEY,
  market_id text NOT NULL,
  outcome_index integer NOT NULL,
  odds_hundredths integer NOT NULL,
  stake_minor bigint NOT NULL,
  liability_minor bigint NOT NULL,
  back_order_id text NOT NULL,
  lay_order_id text NOT NULL,
  back_user_id text NOT NULL,
  lay_user_id text NOT NULL,
  maker_order_id text NOT NULL,
  matched_at_ms bigint NOT NULL,
  voided boolean NOT NULL DEFAULT false
);
CREATE INDEX be_xfills_market ON be_xfills (market_id, matched_at_ms);
CREATE INDEX be_xfills_back ON be_xfills (back_order_id);
CREATE INDEX be_xfills_lay ON be_xfills (lay_order_id);

-- The user's ONE open hold on the market (a pending wallet → escrow transfer
-- `xh:<market>:<user>:<version>`), replaced in a linked ledger chain (void the old, hold the new)
-- whenever the required exposure changes. pending_* is the replacement being submitted (written
-- before the ledger call, so a crash leaves it to resubmit with the same ids).
CREATE TABLE be_xholds (
  market_id text NOT NULL,
  user_id text NOT NULL,
  currency text NOT NULL,
  version integer NOT NULL DEFAULT 0,
  amount_minor bigint NOT NULL DEFAULT 0,
  bet_id text NOT NULL DEFAULT '',
  pending_version integer NOT NULL DEFAULT 0,
  pending_amount_minor bigint NOT NULL DEFAULT 0,
  pending_bet_id text NOT NULL DEFAULT '',
  PRIMARY KEY (market_id, user_id)
);
