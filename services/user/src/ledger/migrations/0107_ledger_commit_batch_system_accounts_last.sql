
-- The same statement, with the lock order split in two steps: the batch's per-user accounts are
-- locked and updated first, and only then its system accounts (a market's escrow, house, rake).
-- A hot system account is so locked only for the rest of the statement (sequence numbers and the
-- inserts) and not while the batch's thousand wallets are locked and updated: batches that credit
-- the same escrow overlap in their wallet work instead of queueing for all of it. The order is the
-- ledger's one lock order, (class, id), as before; sequence numbers are still taken after every
-- account the batch touches is locked, so each account's transfers number in commit order.
CREATE OR REPLACE FUNCTION ledger_commit_batch(
  a_ids text[], a_dpend bigint[], a_dpost bigint[], a_cpend bigint[], a_cpost bigint[],
  n_steps integer,
  t_step integer[], t_id text[], t_kind smallint[], t_debit text[], t_credit text[],
  t_amount bigint[], t_currency text[], t_pending_id text[], t_timeout bigint[],
  t_expires bigint[], t_code smallint[], t_market text[], t_bet text[], t_payment text[],
  t_settlement text[], t_memo text[], t_committed bigint[], t_fingerprint text[],
  n_id text[], n_status smallint[], n_expires bigint[], n_resolved_at bigint[], n_resolved_by text[],
  r_id text[], r_status smallint[], r_resolved_at bigint[], r_resolved_by text[], r_step integer[],
  a_need bigint[]
) RETURNS TABLE (
  o_id text, o_dpend bigint, o_dpost bigint, o_cpend bigint, o_cpost bigint, o_seqs bigint[]
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  seqs bigint[];
  n integer;
  system_rows integer;
BEGIN
  PERFORM 1 FROM ledger_accounts a
    WHERE a.id = ANY(a_ids) AND (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%')
    ORDER BY a.id
    FOR UPDATE;
  RETURN QUERY
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + d.dpend,
      debits_posted = a.debits_posted + d.dpost,
      credits_pending = a.credits_pending + d.cpend,
      credits_posted = a.credits_posted + d.cpost
    FROM unnest(a_ids, a_dpend, a_dpost, a_cpend, a_cpost) AS d(id, dpend, dpost, cpend, cpost)
    WHERE a.id = d.id AND (d.id LIKE 'wallet:%' OR d.id LIKE 'streamer:%')
    RETURNING a.id::text, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
      NULL::bigint[];
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM 1 FROM ledger_accounts a
    WHERE a.id = ANY(a_ids) AND NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%')
    ORDER BY a.id
    FOR UPDATE;
  RETURN QUERY
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + d.dpend,
      debits_posted = a.debits_posted + d.dpost,
      credits_pending = a.credits_pending + d.cpend,
      credits_posted = a.credits_posted + d.cpost
    FROM unnest(a_ids, a_dpend, a_dpost, a_cpend, a_cpost) AS d(id, dpend, dpost, cpend, cpost)
    WHERE a.id = d.id AND NOT (d.id LIKE 'wallet:%' OR d.id LIKE 'streamer:%')
    RETURNING a.id::text, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
      NULL::bigint[];
  GET DIAGNOSTICS system_rows = ROW_COUNT;
  n := n + system_rows;
  IF n <> coalesce(array_length(a_ids, 1), 0) THEN
    RAISE EXCEPTION 'ledger_commit_batch found % of % accounts', n, coalesce(array_length(a_ids, 1), 0)
      USING ERRCODE = 'LG001';
  END IF;
  IF EXISTS (
    SELECT 1 FROM unnest(a_ids, a_need) AS x(id, need)
    JOIN ledger_accounts a ON a.id = x.id
    WHERE x.need > 0 AND a.constrained
      AND a.credits_posted - a.debits_posted - a.debits_pending < x.need) THEN
    RAISE EXCEPTION 'ledger_commit_batch: an account would have dipped below zero within the batch'
      USING ERRCODE = '23514';
  END IF;
  seqs := ARRAY(SELECT nextval('ledger_seq') FROM generate_series(1, n_steps));
  INSERT INTO ledger_transfers (id, seq, kind, debit_account_id, credit_account_id, amount, currency,
    pending_id, timeout_seconds, expires_at_ms, code, market_id, bet_id, payment_id, settlement_id,
    memo, committed_at_ms, fingerprint)
  SELECT u.id, seqs[u.step], u.kind, u.debit, u.credit, u.amount, u.currency, u.pending_id,
    u.timeout, u.expires, u.code, u.market, u.bet, u.payment, u.settlement, u.memo, u.committed,
    u.fingerprint
  FROM unnest(t_step, t_id, t_kind, t_debit, t_credit, t_amount, t_currency, t_pending_id,
    t_timeout, t_expires, t_code, t_market, t_bet, t_payment, t_settlement, t_memo, t_committed,
    t_fingerprint) AS u(step, id, kind, debit, credit, amount, currency, pending_id, timeout,
    expires, code, market, bet, payment, settlement, memo, committed, fingerprint);
  INSERT INTO ledger_holds (transfer_id, status, expires_at_ms, resolved_at_ms, resolved_by)
  SELECT * FROM unnest(n_id, n_status, n_expires, n_resolved_at, n_resolved_by);
  UPDATE ledger_holds h SET status = u.status, resolved_at_ms = u.resolved_at,
    resolved_by = u.resolved_by, expiry_seq = CASE WHEN u.step IS NULL THEN NULL ELSE seqs[u.step] END
  FROM unnest(r_id, r_status, r_resolved_at, r_resolved_by, r_step)
    AS u(id, status, resolved_at, resolved_by, step)
  WHERE h.transfer_id = u.id;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> coalesce(array_length(r_id, 1), 0) THEN
    RAISE EXCEPTION 'ledger_commit_batch resolved % of % holds', n, coalesce(array_length(r_id, 1), 0);
  END IF;
  RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, seqs;
END
$fn$;
