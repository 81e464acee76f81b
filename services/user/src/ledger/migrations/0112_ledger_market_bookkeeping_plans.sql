
-- The market bookkeeping of 0110 in ledger_commit_batch and ledger_read_batch runs as EXECUTE,
-- planned with each batch's arrays. As cached statements they switched to a generic plan after
-- five calls (measured: batches of 1,000 holds went from 100 ms to 400 ms at the sixth): guessing
-- the arrays at one row, it joined the batch's transfers to its new holds with a nested loop (a
-- million comparisons) and looked resolved holds up through the market-holds index instead of
-- the primary key (a walk over every hold of the market).
CREATE OR REPLACE FUNCTION ledger_read_batch(
  hold_ids text[], account_ids text[], debited_system_ids text[], transfer_ids text[], strict boolean,
  market_ids text[]
) RETURNS TABLE (k text, j json) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  wanted text[];
  markets text[];
BEGIN
  PERFORM 1 FROM ledger_holds h WHERE h.transfer_id = ANY(hold_ids)
    ORDER BY h.transfer_id
    FOR UPDATE;
  -- (EXECUTE: planned with the batch's arrays, see ledger_commit_batch.)
  EXECUTE $q$SELECT array_agg(DISTINCT x.m ORDER BY x.m) FROM (
      SELECT unnest($1::text[]) AS m
      UNION ALL SELECT t.market_id FROM ledger_transfers t WHERE t.id = ANY($2::text[]) AND t.kind = 2
    ) x WHERE x.m <> ''$q$
    INTO markets USING market_ids, hold_ids;
  IF markets IS NOT NULL THEN
    INSERT INTO ledger_markets (market_id) SELECT unnest(markets) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM ledger_markets m WHERE m.market_id = ANY(markets)
      ORDER BY m.market_id
      FOR SHARE;
    RETURN QUERY
      SELECT 'm'::text, json_build_array(m.market_id) FROM ledger_markets m
      WHERE m.market_id = ANY(markets) AND m.resolved_at_ms IS NOT NULL;
  END IF;
  RETURN QUERY
    SELECT 'h'::text, ledger_hold_json(t, h, m)
    FROM ledger_holds h JOIN ledger_transfers t ON t.id = h.transfer_id
    LEFT JOIN ledger_markets m ON m.market_id = t.market_id
    WHERE h.transfer_id = ANY(hold_ids);
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
    SELECT 't'::text, ledger_hold_json(t, h, m)
    FROM ledger_transfers t LEFT JOIN ledger_holds h ON h.transfer_id = t.id
    LEFT JOIN ledger_markets m ON t.kind = 2 AND m.market_id = t.market_id
    WHERE t.id = ANY(transfer_ids);
END
$fn$;

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
  markets text[];
BEGIN
  -- The markets of the batch's new holds and of the holds it resolves: their rows first (before
  -- any account), FOR SHARE, so a market resolution (FOR UPDATE) waits for this batch and a
  -- batch after it sees it. A resolved market takes no new hold and no hold of it changes
  -- (40001: the full path replans, and refuses).
  -- (EXECUTE: planned with the batch's arrays; a cached generic plan guesses them at one row.)
  EXECUTE $q$SELECT array_agg(DISTINCT x.m ORDER BY x.m) FROM (
      SELECT u.market AS m FROM unnest($1::smallint[], $2::text[]) AS u(kind, market)
      WHERE u.kind = 2
      UNION ALL SELECT t.market_id FROM ledger_transfers t WHERE t.id = ANY($3::text[]) AND t.kind = 2
    ) x WHERE x.m <> ''$q$
    INTO markets USING t_kind, t_market, r_id;
  IF markets IS NOT NULL THEN
    INSERT INTO ledger_markets (market_id) SELECT unnest(markets) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM ledger_markets m WHERE m.market_id = ANY(markets)
      ORDER BY m.market_id
      FOR SHARE;
    IF EXISTS (SELECT 1 FROM ledger_markets m
        WHERE m.market_id = ANY(markets) AND m.resolved_at_ms IS NOT NULL) THEN
      RAISE EXCEPTION 'ledger_commit_batch: a market of the batch was resolved meanwhile'
        USING ERRCODE = '40001';
    END IF;
  END IF;
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
  -- Per (market, debit, credit): the open holds the batch adds (new holds still open at its end)
  -- and removes (holds it posts, voids or expires). The debit account of each pair is locked
  -- above, so pairs are never contended.
  IF markets IS NOT NULL THEN
    EXECUTE $q$INSERT INTO ledger_market_hold_totals AS g (market_id, debit_account_id,
        credit_account_id, open_count, open_amount)
      SELECT d.market, d.debit, d.credit, sum(d.n), sum(d.amount) FROM (
        SELECT u.market, u.debit, u.credit, 1::bigint AS n, u.amount
        FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[], $5::text[], $6::bigint[])
          AS u(id, kind, market, debit, credit, amount)
        JOIN unnest($7::text[], $8::smallint[]) AS s(id, status) ON s.id = u.id AND s.status = 1
        WHERE u.kind = 2 AND u.market <> ''
        UNION ALL
        SELECT t.market_id, t.debit_account_id, t.credit_account_id, -1::bigint, -t.amount
        FROM ledger_transfers t
        WHERE t.id = ANY($9::text[]) AND t.kind = 2 AND t.market_id <> ''
      ) d GROUP BY d.market, d.debit, d.credit
      ORDER BY d.market, d.debit, d.credit
      ON CONFLICT (market_id, debit_account_id, credit_account_id) DO UPDATE SET
        open_count = g.open_count + excluded.open_count,
        open_amount = g.open_amount + excluded.open_amount$q$
      USING t_id, t_kind, t_market, t_debit, t_credit, t_amount, n_id, n_status, r_id;
  END IF;
  RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, seqs;
END
$fn$;
