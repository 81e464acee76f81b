-- Issue 12: the stakes a market's resolution settles, per (market, user, outcome), kept in the
-- transaction that accepts or voids a bet (store/odds.ts applyHeldDelta), so ResolveMarketBets
-- reads the market's totals and per-user stakes from about one row per user and outcome instead of
-- grouping every bet. "Held" = the bets whose ledger hold the resolution resolves: ACCEPTED, plus
-- those voided with a canceled market (their holds wait for the refund; payout 0 so far). Rows
-- whose count falls to 0 may stay (readers skip them).
--
-- A winner's payout is Σ floor(s × D / P_w) over their bets, which no per-user sum can give
-- (floor of a sum ≠ sum of floors), so the resolution still reads each winning bet's stake: the
-- partial covering index below lets it do that from the index alone, for the winning outcome only.
CREATE TABLE be_user_outcome_stakes (
  market_id text NOT NULL,
  user_id text NOT NULL,
  outcome_id text NOT NULL,
  bet_count bigint NOT NULL,
  staked_minor bigint NOT NULL,
  PRIMARY KEY (market_id, user_id, outcome_id)
);

INSERT INTO be_user_outcome_stakes (market_id, user_id, outcome_id, bet_count, staked_minor)
SELECT market_id, user_id, outcome_id, count(*), sum(stake_minor)::bigint
FROM be_bets
WHERE status = 'ACCEPTED'
   OR (status = 'VOIDED' AND void_reason = 'MARKET_CANCELED' AND payout_minor = 0)
GROUP BY market_id, user_id, outcome_id;

CREATE INDEX be_bets_accepted_by_outcome ON be_bets (market_id, outcome_id, user_id)
  INCLUDE (stake_minor) WHERE status = 'ACCEPTED';
