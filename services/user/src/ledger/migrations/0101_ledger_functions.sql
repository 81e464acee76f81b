
CREATE FUNCTION ledger_account_json(a ledger_accounts) RETURNS json
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT json_build_array(a.id, a.kind, a.currency, a.owner_id, a.constrained,
    a.created_at_ms::text, a.debits_pending::text, a.debits_posted::text,
    a.credits_pending::text, a.credits_posted::text)
$fn$;

CREATE FUNCTION ledger_transfer_json(t ledger_transfers, status smallint, resolved_at_ms bigint)
RETURNS json LANGUAGE sql IMMUTABLE AS $fn$
  SELECT json_build_array(t.id, t.kind, t.debit_account_id, t.credit_account_id, t.amount::text,
    t.currency, t.pending_id, t.timeout_seconds::text, t.expires_at_ms::text, t.code, t.market_id,
    t.bet_id, t.payment_id, t.settlement_id, t.memo, t.committed_at_ms::text, t.seq::text,
    coalesce(status, 0), coalesce(resolved_at_ms, 0)::text, t.fingerprint)
$fn$;

-- Reads what a batch needs, locking in the ledger's one order: the holds it resolves (by id),
-- then per-user accounts and the system accounts it debits (class, then id); with strict, every
-- account. Then, with a fresh snapshot (VOLATILE: each statement takes a new one, after the
-- locks), the accounts left unlocked and the committed transfers whose ids the batch uses.
CREATE FUNCTION ledger_read_batch(
  hold_ids text[], account_ids text[], debited_system_ids text[], transfer_ids text[], strict boolean
) RETURNS TABLE (k text, j json) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  wanted text[];
BEGIN
  RETURN QUERY
    SELECT 'h'::text, ledger_transfer_json(t, h.status, h.resolved_at_ms)
    FROM ledger_holds h JOIN ledger_transfers t ON t.id = h.transfer_id
    WHERE h.transfer_id = ANY(hold_ids)
    ORDER BY h.transfer_id
    FOR UPDATE OF h;
  SELECT array_agg(DISTINCT x) INTO wanted FROM (
    SELECT unnest(account_ids) AS x
    UNION ALL SELECT t.debit_account_id FROM ledger_transfers t WHERE t.id = ANY(hold_ids)
    UNION ALL SELECT t.credit_account_id FROM ledger_transfers t WHERE t.id = ANY(hold_ids)
  ) ids;
  RETURN QUERY
    SELECT 'a'::text, ledger_account_json(l) FROM (
      SELECT a.* FROM ledger_accounts a
      WHERE a.id = ANY(wanted)
        AND (strict OR a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%' OR a.id = ANY(debited_system_ids))
      ORDER BY NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%'), a.id
      FOR UPDATE
    ) l;
  RETURN QUERY
    SELECT 'a'::text, ledger_account_json(a) FROM ledger_accounts a
    WHERE a.id = ANY(wanted)
      AND NOT (strict OR a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%' OR a.id = ANY(debited_system_ids));
  RETURN QUERY
    SELECT 't'::text, ledger_transfer_json(t, h.status, h.resolved_at_ms)
    FROM ledger_transfers t LEFT JOIN ledger_holds h ON h.transfer_id = t.id
    WHERE t.id = ANY(transfer_ids);
END
$fn$;

-- Commits a planned batch: locks the touched accounts not yet locked in (class, id) order (the
-- hot, credit-only system accounts are locked only here), applies one aggregated delta per
-- account in one statement, takes one sequence number per step (after the locks, so per account
-- sequence order is commit order), inserts the transfers and new holds and records resolved
-- holds. Returns every touched account's new totals, plus one row (r_id NULL) with the sequence
-- numbers. The CHECK on ledger_accounts makes it fail (23514) rather than overdraw.
CREATE FUNCTION ledger_commit_batch(
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
