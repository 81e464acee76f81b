
-- Room on each page for the new versions of account rows: balance updates change no indexed
-- column, so they can stay heap-only (no index writes) when the page has space.
ALTER TABLE ledger_accounts SET (fillfactor = 50);

-- The speculative path (ledger-store.ts) commits a batch with this one statement and no
-- surrounding transaction, so the function itself must refuse a batch naming a missing account
-- (LG001) instead of leaving the check to the caller.
CREATE OR REPLACE FUNCTION ledger_commit_batch(
  a_ids text[], a_dpend bigint[], a_dpost bigint[], a_cpend bigint[], a_cpost bigint[],
  n_steps integer,
  t_step integer[], t_id text[], t_kind smallint[], t_debit text[], t_credit text[],
  t_amount bigint[], t_currency text[], t_pending_id text[], t_timeout bigint[],
  t_expires bigint[], t_code smallint[], t_market text[], t_bet text[], t_payment text[],
  t_settlement text[], t_memo text[], t_committed bigint[], t_fingerprint text[],
  n_id text[], n_status smallint[], n_expires bigint[], n_resolved_at bigint[], n_resolved_by text[],
  r_id text[], r_status smallint[], r_resolved_at bigint[], r_resolved_by text[], r_step integer[]
) RETURNS TABLE (
  o_id text, o_dpend bigint, o_dpost bigint, o_cpend bigint, o_cpost bigint, o_seqs bigint[]
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  seqs bigint[];
  n integer;
BEGIN
  PERFORM 1 FROM ledger_accounts a WHERE a.id = ANY(a_ids)
    ORDER BY NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%'), a.id
    FOR UPDATE;
  RETURN QUERY
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + d.dpend,
      debits_posted = a.debits_posted + d.dpost,
      credits_pending = a.credits_pending + d.cpend,
      credits_posted = a.credits_posted + d.cpost
    FROM unnest(a_ids, a_dpend, a_dpost, a_cpend, a_cpost) AS d(id, dpend, dpost, cpend, cpost)
    WHERE a.id = d.id
    RETURNING a.id::text, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
      NULL::bigint[];
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> coalesce(array_length(a_ids, 1), 0) THEN
    RAISE EXCEPTION 'ledger_commit_batch found % of % accounts', n, coalesce(array_length(a_ids, 1), 0)
      USING ERRCODE = 'LG001';
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

-- One new transfer or hold in one statement (the one-round-trip path of a single command): lock
-- and update both accounts in the ledger's (class, id) order, take the sequence number after the
-- locks, insert the transfer (primary key: 23505 when the id is taken) and, for a hold, its state.
-- The CHECK on ledger_accounts refuses an overdraft (23514). Returns both accounts' new totals and
-- one row (o_id NULL) with the sequence number.
CREATE FUNCTION ledger_transfer_one(
  p_id text, p_kind smallint, p_debit text, p_credit text, p_amount bigint, p_currency text,
  p_timeout bigint, p_expires bigint, p_code smallint, p_market text, p_bet text,
  p_payment text, p_settlement text, p_memo text, p_committed bigint, p_fingerprint text,
  p_hold_status smallint
) RETURNS TABLE (
  o_id text, o_dpend bigint, o_dpost bigint, o_cpend bigint, o_cpost bigint, o_seq bigint
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  pending boolean := p_kind = 2;
  first_id text;
  second_id text;
  n integer;
  total integer := 0;
  s bigint;
BEGIN
  IF (NOT (p_debit LIKE 'wallet:%' OR p_debit LIKE 'streamer:%'), p_debit COLLATE "C")
     < (NOT (p_credit LIKE 'wallet:%' OR p_credit LIKE 'streamer:%'), p_credit COLLATE "C") THEN
    first_id := p_debit; second_id := p_credit;
  ELSE
    first_id := p_credit; second_id := p_debit;
  END IF;
  RETURN QUERY
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + CASE WHEN a.id = p_debit AND pending THEN p_amount ELSE 0 END,
      debits_posted = a.debits_posted + CASE WHEN a.id = p_debit AND NOT pending THEN p_amount ELSE 0 END,
      credits_pending = a.credits_pending + CASE WHEN a.id = p_credit AND pending THEN p_amount ELSE 0 END,
      credits_posted = a.credits_posted + CASE WHEN a.id = p_credit AND NOT pending THEN p_amount ELSE 0 END
    WHERE a.id = first_id
    RETURNING a.id::text, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, NULL::bigint;
  GET DIAGNOSTICS n = ROW_COUNT;
  total := total + n;
  RETURN QUERY
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + CASE WHEN a.id = p_debit AND pending THEN p_amount ELSE 0 END,
      debits_posted = a.debits_posted + CASE WHEN a.id = p_debit AND NOT pending THEN p_amount ELSE 0 END,
      credits_pending = a.credits_pending + CASE WHEN a.id = p_credit AND pending THEN p_amount ELSE 0 END,
      credits_posted = a.credits_posted + CASE WHEN a.id = p_credit AND NOT pending THEN p_amount ELSE 0 END
    WHERE a.id = second_id
    RETURNING a.id::text, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, NULL::bigint;
  GET DIAGNOSTICS n = ROW_COUNT;
  total := total + n;
  IF total <> 2 OR p_debit = p_credit THEN
    RAISE EXCEPTION 'ledger_transfer_one found % of the 2 accounts % and %', total, p_debit, p_credit
      USING ERRCODE = 'LG001';
  END IF;
  s := nextval('ledger_seq');
  INSERT INTO ledger_transfers (id, seq, kind, debit_account_id, credit_account_id, amount, currency,
    pending_id, timeout_seconds, expires_at_ms, code, market_id, bet_id, payment_id, settlement_id,
    memo, committed_at_ms, fingerprint)
  VALUES (p_id, s, p_kind, p_debit, p_credit, p_amount, p_currency, '', p_timeout, p_expires, p_code,
    p_market, p_bet, p_payment, p_settlement, p_memo, p_committed, p_fingerprint);
  IF pending THEN
    INSERT INTO ledger_holds (transfer_id, status, expires_at_ms) VALUES (p_id, p_hold_status, p_expires);
  END IF;
  RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, s;
END
$fn$;
