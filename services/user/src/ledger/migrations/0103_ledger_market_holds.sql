
-- Bulk settlement (ResolveMarketHolds) pages through one market's holds in id order; only holds
-- (kind 2 = PENDING) are indexed, so plain transfers pay nothing for it.
CREATE INDEX ledger_transfers_market_holds ON ledger_transfers (market_id, id) WHERE kind = 2;
