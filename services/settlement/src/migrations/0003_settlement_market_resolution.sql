-- Issue 12: a run resolves its market's holds with one ledger resolution record (ResolveMarket)
-- and pays with CreditMarketPayouts pages. market_resolved says the HOLDS phase ended that way, so
-- a resumed run pays on the same path (payout transfer ids differ between the two paths); false:
-- holds were resolved page by page (ResolveMarketHolds) and payouts go through SubmitTransfers.
ALTER TABLE settlements ADD COLUMN market_resolved BOOLEAN NOT NULL DEFAULT false;
