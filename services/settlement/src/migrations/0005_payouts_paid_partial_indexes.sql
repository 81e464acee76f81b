-- Issue 12: the payout listings (ListPayouts: by user, or everyone's newest first) read paid rows
-- only (paid_at_ms > 0). A run writes its 100,000 plan rows unpaid and marks them paid at FINISH,
-- so full indexes took two entries per row at plan time that no listing ever reads (and the
-- update adds the paid ones anyway). Partial indexes hold paid rows only: the plan rows' INSERT
-- about halves (measured 3.8 s → 1.6 s for 100,000 rows on a loaded machine), same listings.
DROP INDEX settlement_payouts_user;
CREATE INDEX settlement_payouts_user ON settlement_payouts (user_id, paid_at_ms DESC, market_id)
  WHERE paid_at_ms > 0;
DROP INDEX settlement_payouts_paid;
CREATE INDEX settlement_payouts_paid ON settlement_payouts (paid_at_ms DESC, market_id, user_id)
  WHERE paid_at_ms > 0;
