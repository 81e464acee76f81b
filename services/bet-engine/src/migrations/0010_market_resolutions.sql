-- Issue 12: a market's bets resolve together. One resolution record per market (payout or refund,
-- with the pool's figures) and one row per user with their aggregates (what settlement pays);
-- each bet's result and payout are derived from the record on read (be_bets_resolved), so
-- resolving a market rewrites no bet row. Bets settled before this migration keep their stored
-- WON / LOST / REFUNDED rows: the view passes every row that is not ACCEPTED through unchanged.
CREATE TABLE be_market_resolutions (
  market_id text PRIMARY KEY,
  settlement_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('PAYOUT', 'REFUND')),
  refund_reason text NOT NULL DEFAULT '',
  winning_outcome_id text NOT NULL DEFAULT '',
  currency text NOT NULL,
  commission_bps integer NOT NULL,
  streamer_share_bps integer NOT NULL,
  total_staked_minor bigint NOT NULL,
  winning_staked_minor bigint NOT NULL,
  commission_minor bigint NOT NULL,
  streamer_share_minor bigint NOT NULL,
  distributable_minor bigint NOT NULL,
  breakage_minor bigint NOT NULL,
  payout_total_minor bigint NOT NULL,
  bet_count bigint NOT NULL,
  user_count bigint NOT NULL,
  winner_count bigint NOT NULL,
  resolved_at_ms bigint NOT NULL
);

CREATE TABLE be_resolution_users (
  market_id text NOT NULL,
  user_id text NOT NULL,
  bet_count bigint NOT NULL,
  staked_minor bigint NOT NULL,
  payout_minor bigint NOT NULL,
  PRIMARY KEY (market_id, user_id)
);

-- One POOL bet's payout under its market's resolution (product.md): refund s; winner
-- s + floor(s × D / P_w) (numeric, so s × D never overflows); loser 0.
CREATE FUNCTION be_pool_bet_payout(
  resolution_kind text, stake_minor bigint, outcome_id text, winning_outcome_id text,
  distributable_minor bigint, winning_staked_minor bigint
) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN resolution_kind = 'REFUND' THEN stake_minor
    WHEN outcome_id = winning_outcome_id AND winning_staked_minor > 0
      THEN stake_minor + div(stake_minor::numeric * distributable_minor, winning_staked_minor)::bigint
    ELSE 0::bigint
  END
$$;

-- be_bets as every read shows them: an ACCEPTED bet of a resolved market is WON / LOST /
-- REFUNDED with its own payout, nothing held, settled when the resolution was recorded; a bet
-- voided with its canceled market shows its stake returned once the refund is recorded.
CREATE VIEW be_bets_resolved AS
SELECT b.bet_id, b.user_id, b.idempotency_key, b.market_id, b.outcome_id, b.currency,
  b.stake_minor,
  CASE
    WHEN r.market_id IS NULL OR b.status <> 'ACCEPTED' THEN b.status
    WHEN r.kind = 'REFUND' THEN 'REFUNDED'
    WHEN b.outcome_id = r.winning_outcome_id THEN 'WON'
    ELSE 'LOST'
  END AS status,
  b.void_reason, b.hold_transfer_id, b.hold_timeout_seconds,
  CASE WHEN r.market_id IS NOT NULL AND b.status = 'ACCEPTED' THEN 0::bigint
    ELSE b.held_minor END AS held_minor,
  b.voided_stake_minor,
  CASE
    WHEN r.market_id IS NULL THEN b.payout_minor
    WHEN b.status = 'ACCEPTED' THEN be_pool_bet_payout(r.kind, b.stake_minor, b.outcome_id,
      r.winning_outcome_id, r.distributable_minor, r.winning_staked_minor)
    WHEN r.kind = 'REFUND' AND b.status = 'VOIDED' AND b.void_reason = 'MARKET_CANCELED'
      AND b.payout_minor = 0 THEN b.stake_minor
    ELSE b.payout_minor
  END AS payout_minor,
  CASE
    WHEN r.market_id IS NOT NULL AND b.status = 'ACCEPTED' THEN be_pool_bet_payout(r.kind,
      b.stake_minor, b.outcome_id, r.winning_outcome_id, r.distributable_minor,
      r.winning_staked_minor) - b.stake_minor
    ELSE b.net_profit_minor
  END AS net_profit_minor,
  b.placed_at_ms,
  CASE
    WHEN r.market_id IS NOT NULL AND (b.status = 'ACCEPTED' OR (r.kind = 'REFUND'
      AND b.status = 'VOIDED' AND b.void_reason = 'MARKET_CANCELED' AND b.payout_minor = 0))
      THEN greatest(b.updated_at_ms, r.resolved_at_ms)
    ELSE b.updated_at_ms
  END AS updated_at_ms,
  CASE
    WHEN r.market_id IS NOT NULL AND (b.status = 'ACCEPTED' OR (r.kind = 'REFUND'
      AND b.status = 'VOIDED' AND b.void_reason = 'MARKET_CANCELED' AND b.payout_minor = 0))
      THEN r.resolved_at_ms
    ELSE b.settled_at_ms
  END AS settled_at_ms,
  b.client
FROM be_bets b LEFT JOIN be_market_resolutions r ON r.market_id = b.market_id;
