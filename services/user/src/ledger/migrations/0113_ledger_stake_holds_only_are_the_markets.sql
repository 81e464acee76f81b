-- Only stake holds (code BET_STAKE = 3) belong to their market. Before, every hold naming a market
-- did: after ResolveMarket the ledger refused any new hold naming it (and any post or void of one),
-- including the claw-back holds (code PAYOUT_REVERSAL) a ReverseSettlement takes when a settled
-- market is voided with more than one chunk of claw-backs, so such a market could never be
-- reversed; and a claw-back hold still open would have shown the market's resolution as its
-- state. Now a hold with another code is an ordinary hold of its own: not refused nor derived by
-- the market's resolution, not counted in the market's open-hold totals. Bets on a resolved market
-- (new BET_STAKE holds) are still refused.

-- The open-hold totals count stake holds only: take out the open holds of other codes counted
-- before (claw-back holds of a reversal in flight on a market settled hold by hold).
UPDATE ledger_market_hold_totals g SET
  open_count = g.open_count - x.n, open_amount = g.open_amount - x.amount
FROM (
  SELECT t.market_id, t.debit_account_id, t.credit_account_id, count(*) AS n, sum(t.amount) AS amount
  FROM ledger_transfers t JOIN ledger_holds h ON h.transfer_id = t.id
  WHERE t.kind = 2 AND t.code <> 3 AND t.market_id <> '' AND h.status = 1
  GROUP BY t.market_id, t.debit_account_id, t.credit_account_id
) x
WHERE g.market_id = x.market_id AND g.debit_account_id = x.debit_account_id
  AND g.credit_account_id = x.credit_account_id;

CREATE OR REPLACE FUNCTION ledger_hold_json(t ledger_transfers, h ledger_holds, m ledger_markets)
RETURNS json LANGUAGE sql IMMUTABLE AS $fn$
  SELECT ledger_transfer_json(t,
    CASE WHEN h.status = 1 AND t.code = 3 AND m.resolved_at_ms IS NOT NULL THEN
      CASE WHEN h.expires_at_ms > 0 AND h.expires_at_ms <= m.resolved_at_ms THEN 4::smallint
        ELSE m.hold_status END
    ELSE h.status END,
    CASE WHEN h.status = 1 AND t.code = 3 AND m.resolved_at_ms IS NOT NULL THEN m.resolved_at_ms
      ELSE h.resolved_at_ms END)
$fn$;

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
      UNION ALL SELECT t.market_id FROM ledger_transfers t
        WHERE t.id = ANY($2::text[]) AND t.kind = 2 AND t.code = 3
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
  -- The markets of the batch's new stake holds (code BET_STAKE = 3; other holds naming a market,
  -- such as a reversal's claw-back holds, are not the market's) and of the stake holds it resolves: their rows first (before
  -- any account), FOR SHARE, so a market resolution (FOR UPDATE) waits for this batch and a
  -- batch after it sees it. A resolved market takes no new hold and no hold of it changes
  -- (40001: the full path replans, and refuses).
  -- (EXECUTE: planned with the batch's arrays; a cached generic plan guesses them at one row.)
  EXECUTE $q$SELECT array_agg(DISTINCT x.m ORDER BY x.m) FROM (
      SELECT u.market AS m FROM unnest($1::smallint[], $2::text[], $4::smallint[])
        AS u(kind, market, code)
      WHERE u.kind = 2 AND u.code = 3
      UNION ALL SELECT t.market_id FROM ledger_transfers t
        WHERE t.id = ANY($3::text[]) AND t.kind = 2 AND t.code = 3
    ) x WHERE x.m <> ''$q$
    INTO markets USING t_kind, t_market, r_id, t_code;
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
        FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[], $5::text[], $6::bigint[],
            $10::smallint[])
          AS u(id, kind, market, debit, credit, amount, code)
        JOIN unnest($7::text[], $8::smallint[]) AS s(id, status) ON s.id = u.id AND s.status = 1
        WHERE u.kind = 2 AND u.code = 3 AND u.market <> ''
        UNION ALL
        SELECT t.market_id, t.debit_account_id, t.credit_account_id, -1::bigint, -t.amount
        FROM ledger_transfers t
        WHERE t.id = ANY($9::text[]) AND t.kind = 2 AND t.code = 3 AND t.market_id <> ''
      ) d GROUP BY d.market, d.debit, d.credit
      ORDER BY d.market, d.debit, d.credit
      ON CONFLICT (market_id, debit_account_id, credit_account_id) DO UPDATE SET
        open_count = g.open_count + excluded.open_count,
        open_amount = g.open_amount + excluded.open_amount$q$
      USING t_id, t_kind, t_market, t_debit, t_credit, t_amount, n_id, n_status, r_id, t_code;
  END IF;
  RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, seqs;
END
$fn$;

CREATE OR REPLACE FUNCTION ledger_transfer_one(
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
  resolved bigint;
BEGIN
  -- A stake hold (code BET_STAKE = 3) of a market: the market's row first, FOR SHARE (see ledger_commit_batch).
  IF pending AND p_market <> '' AND p_code = 3 THEN
    INSERT INTO ledger_markets (market_id) VALUES (p_market) ON CONFLICT DO NOTHING;
    SELECT m.resolved_at_ms INTO resolved FROM ledger_markets m WHERE m.market_id = p_market
      FOR SHARE;
    IF resolved IS NOT NULL THEN
      RAISE EXCEPTION 'ledger_transfer_one: market % is resolved', p_market USING ERRCODE = '40001';
    END IF;
  END IF;
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
    IF p_market <> '' AND p_code = 3 AND p_hold_status = 1 THEN
      INSERT INTO ledger_market_hold_totals AS g (market_id, debit_account_id, credit_account_id,
        open_count, open_amount)
      VALUES (p_market, p_debit, p_credit, 1, p_amount)
      ON CONFLICT (market_id, debit_account_id, credit_account_id) DO UPDATE SET
        open_count = g.open_count + 1, open_amount = g.open_amount + excluded.open_amount;
    END IF;
  END IF;
  RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, s;
END
$fn$;
