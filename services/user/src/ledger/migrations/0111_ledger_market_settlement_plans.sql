
-- Market-level settlement at a million holds (measured: 1,000,000 holds from 100,000 wallets):
-- CreditMarketPayouts joined its page of 20,000 entries to ledger_transfers and ledger_accounts
-- with hash joins, scanning both tables on every page (3.5 s a page); it now walks their primary
-- keys, as ledger_resolve_market_holds does, and locks the page's accounts through one ANY (an OR
-- with the escrow kept the index out). ResolveMarket no longer sorts its account deltas five times
-- (the lock statement orders the locks). Both get work_mem for a market's 100,000 accounts: with
-- the default 4 MB the aggregation and the lock order's sort spilled to disk (2.5 s of 6.5 s).
CREATE OR REPLACE FUNCTION ledger_resolve_market(
  p_market text, p_settlement text, p_post boolean, p_code smallint, p_expected bigint,
  p_now bigint, p_escrow text
) RETURNS TABLE (
  r_kind text, r_id text, r_currency text, r_dpend bigint, r_dpost bigint, r_cpend bigint,
  r_cpost bigint, r_text text
) LANGUAGE plpgsql VOLATILE
-- Room to aggregate and sort a market's 100,000 accounts in memory (4 MB spilled to disk).
SET work_mem = '64MB' SET plan_cache_mode = force_custom_plan AS $fn$
DECLARE
  mk ledger_markets;
  replayed boolean := true;
  p_debit text[];
  p_credit text[];
  p_rcount bigint[];
  p_ramount bigint[];
  p_ecount bigint[];
  p_eamount bigint[];
  a_id text[];
  a_dpend bigint[];
  a_dpost bigint[];
  a_cpend bigint[];
  a_cpost bigint[];
  rc bigint;
  ra bigint;
  ec bigint;
  ea bigint;
  n integer;
  s bigint;
  e ledger_accounts;
BEGIN
  INSERT INTO ledger_markets (market_id) VALUES (p_market) ON CONFLICT DO NOTHING;
  SELECT * INTO mk FROM ledger_markets m WHERE m.market_id = p_market FOR UPDATE;
  IF mk.resolved_at_ms IS NULL THEN
    replayed := false;
    SELECT coalesce(array_agg(g.debit_account_id), '{}'), coalesce(array_agg(g.credit_account_id), '{}'),
      coalesce(array_agg(g.open_count - coalesce(x.n, 0)), '{}'),
      coalesce(array_agg(g.open_amount - coalesce(x.amount, 0)), '{}'),
      coalesce(array_agg(coalesce(x.n, 0)), '{}'), coalesce(array_agg(coalesce(x.amount, 0)), '{}')
    INTO p_debit, p_credit, p_rcount, p_ramount, p_ecount, p_eamount
    FROM ledger_market_hold_totals g
    LEFT JOIN (
      SELECT t.debit_account_id AS debit, t.credit_account_id AS credit, count(*) AS n,
        sum(t.amount)::bigint AS amount
      FROM ledger_holds h JOIN ledger_transfers t ON t.id = h.transfer_id
      WHERE h.status = 1 AND h.expires_at_ms > 0 AND h.expires_at_ms <= p_now
        AND t.market_id = p_market AND t.kind = 2
      GROUP BY t.debit_account_id, t.credit_account_id
    ) x ON x.debit = g.debit_account_id AND x.credit = g.credit_account_id
    WHERE g.market_id = p_market AND g.open_count > 0;
    SELECT coalesce(sum(u.rc), 0)::bigint, coalesce(sum(u.ra), 0)::bigint,
      coalesce(sum(u.ec), 0)::bigint, coalesce(sum(u.ea), 0)::bigint
    INTO rc, ra, ec, ea
    FROM unnest(p_rcount, p_ramount, p_ecount, p_eamount) AS u(rc, ra, ec, ea);
    IF p_expected > 0 AND ra <> p_expected THEN
      RAISE EXCEPTION 'market % has % in open holds to resolve, not the expected %', p_market, ra,
        p_expected USING ERRCODE = 'LG003';
    END IF;
    SELECT array_agg(d.id), array_agg(d.dpend), array_agg(d.dpost), array_agg(d.cpend),
      array_agg(d.cpost)
    INTO a_id, a_dpend, a_dpost, a_cpend, a_cpost
    FROM (
      SELECT m.id COLLATE "C" AS id, sum(m.dpend)::bigint AS dpend, sum(m.dpost)::bigint AS dpost,
        sum(m.cpend)::bigint AS cpend, sum(m.cpost)::bigint AS cpost
      FROM (
        SELECT u.debit AS id, -(u.ra + u.ea) AS dpend,
          CASE WHEN p_post THEN u.ra ELSE 0 END AS dpost, 0::bigint AS cpend, 0::bigint AS cpost
        FROM unnest(p_debit, p_ramount, p_eamount) AS u(debit, ra, ea)
        UNION ALL
        SELECT u.credit, 0::bigint, 0::bigint, -(u.ra + u.ea), CASE WHEN p_post THEN u.ra ELSE 0 END
        FROM unnest(p_credit, p_ramount, p_eamount) AS u(credit, ra, ea)
      ) m GROUP BY m.id
    ) d;
    PERFORM 1 FROM ledger_accounts a WHERE a.id = ANY(a_id)
      ORDER BY NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%'), a.id
      FOR UPDATE;
    s := nextval('ledger_seq');
    RETURN QUERY
      UPDATE ledger_accounts a SET
        debits_pending = a.debits_pending + d.dpend,
        debits_posted = a.debits_posted + d.dpost,
        credits_pending = a.credits_pending + d.cpend,
        credits_posted = a.credits_posted + d.cpost
      FROM unnest(a_id, a_dpend, a_dpost, a_cpend, a_cpost) AS d(id, dpend, dpost, cpend, cpost)
      WHERE a.id = d.id
      RETURNING 'a'::text, a.id::text, a.currency, a.debits_pending, a.debits_posted,
        a.credits_pending, a.credits_posted, NULL::text;
    GET DIAGNOSTICS n = ROW_COUNT;
    SELECT * INTO e FROM ledger_accounts a WHERE a.id = p_escrow;
    UPDATE ledger_markets m SET resolved_at_ms = p_now,
      hold_status = CASE WHEN p_post THEN 2 ELSE 3 END, settlement_id = p_settlement, code = p_code,
      expected_open_amount = p_expected, seq = s, resolved_count = rc, resolved_amount = ra,
      expired_count = ec, expired_amount = ea, account_count = n, escrow_id = e.id,
      escrow_dpend = e.debits_pending, escrow_dpost = e.debits_posted,
      escrow_cpend = e.credits_pending, escrow_cpost = e.credits_posted
    WHERE m.market_id = p_market
    RETURNING * INTO mk;
  END IF;
  RETURN QUERY SELECT 'r'::text, mk.market_id::text, ''::text,
    CASE WHEN replayed THEN 1 ELSE 0 END::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
    json_build_array(mk.settlement_id, mk.hold_status, mk.code, mk.expected_open_amount::text,
      mk.seq::text, mk.resolved_count::text, mk.resolved_amount::text, mk.expired_count::text,
      mk.expired_amount::text, mk.account_count, mk.resolved_at_ms::text, mk.escrow_id,
      mk.escrow_dpend::text, mk.escrow_dpost::text, mk.escrow_cpend::text,
      mk.escrow_cpost::text)::text;
END
$fn$;

CREATE OR REPLACE FUNCTION ledger_credit_market_payouts(
  p_market text, p_settlement text, p_currency text, p_escrow text, p_now bigint,
  e_id text[], e_account text[], e_amount bigint[], e_code smallint[], e_fp text[]
) RETURNS TABLE (
  r_kind text, r_id text, r_currency text, r_dpend bigint, r_dpost bigint, r_cpend bigint,
  r_cpost bigint, r_state smallint, r_seq bigint, r_ord bigint
) LANGUAGE plpgsql VOLATILE
-- Index-driven joins of the page's arrays with the big tables (a hash join would scan them).
SET enable_hashjoin = off SET enable_mergejoin = off SET work_mem = '64MB'
SET plan_cache_mode = force_custom_plan
AS $fn$
DECLARE
  status smallint;
  e_state smallint[];
  e_seq bigint[];
  total bigint;
  avail bigint;
BEGIN
  SELECT m.hold_status INTO status FROM ledger_markets m WHERE m.market_id = p_market
    FOR SHARE;
  IF status IS DISTINCT FROM 2 THEN
    RAISE EXCEPTION 'market % has not been resolved with POST_IN_FULL', p_market
      USING ERRCODE = 'LG004';
  END IF;
  PERFORM 1 FROM ledger_accounts a WHERE a.id = ANY(e_account || p_escrow)
    ORDER BY NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%'), a.id
    FOR UPDATE;
  SELECT array_agg(CASE
      WHEN x.id IS NOT NULL THEN CASE WHEN x.fingerprint = u.fp THEN 2 ELSE 3 END
      WHEN a.id IS NULL THEN 4
      WHEN a.currency <> p_currency THEN 5
      ELSE 1 END::smallint ORDER BY u.ord),
    array_agg(x.seq ORDER BY u.ord)
  INTO e_state, e_seq
  FROM unnest(e_id, e_account, e_fp) WITH ORDINALITY AS u(id, account, fp, ord)
  LEFT JOIN ledger_transfers x ON x.id = u.id
  LEFT JOIN ledger_accounts a ON a.id = u.account;
  SELECT coalesce(sum(u.amount), 0)::bigint INTO total
  FROM unnest(e_amount, e_state) AS u(amount, state) WHERE u.state = 1;
  SELECT a.credits_posted - a.debits_posted - a.debits_pending INTO avail
  FROM ledger_accounts a WHERE a.id = p_escrow;
  IF avail IS NULL THEN
    RAISE EXCEPTION 'escrow account % does not exist', p_escrow USING ERRCODE = 'LG005';
  END IF;
  IF total > avail THEN
    RAISE EXCEPTION 'escrow % has % available; the page would pay % out of it', p_escrow, avail,
      total USING ERRCODE = 'LG006';
  END IF;
  e_seq := ARRAY(
    SELECT CASE WHEN u.state = 1 THEN nextval('ledger_seq') ELSE u.seq END
    FROM unnest(e_state, e_seq) WITH ORDINALITY AS u(state, seq, ord) ORDER BY u.ord);
  INSERT INTO ledger_transfers (id, seq, kind, debit_account_id, credit_account_id, amount, currency,
    pending_id, timeout_seconds, expires_at_ms, code, market_id, bet_id, payment_id, settlement_id,
    memo, committed_at_ms, fingerprint)
  SELECT u.id, u.seq, 1, p_escrow, u.account, u.amount, p_currency, '', 0, 0, u.code, p_market, '',
    '', p_settlement, '', p_now, u.fp
  FROM unnest(e_id, e_seq, e_account, e_amount, e_code, e_fp, e_state)
    AS u(id, seq, account, amount, code, fp, state)
  WHERE u.state = 1;
  RETURN QUERY
    UPDATE ledger_accounts a SET credits_posted = a.credits_posted + d.amount
    FROM unnest(e_account, e_amount, e_state) AS d(id, amount, state)
    WHERE a.id = d.id AND d.state = 1
    RETURNING 'a'::text, a.id::text, a.currency, a.debits_pending, a.debits_posted,
      a.credits_pending, a.credits_posted, NULL::smallint, NULL::bigint, NULL::bigint;
  IF total > 0 THEN
    RETURN QUERY
      UPDATE ledger_accounts a SET debits_posted = a.debits_posted + total
      WHERE a.id = p_escrow
      RETURNING 'a'::text, a.id::text, a.currency, a.debits_pending, a.debits_posted,
        a.credits_pending, a.credits_posted, NULL::smallint, NULL::bigint, NULL::bigint;
  END IF;
  RETURN QUERY
    SELECT 'e'::text, NULL::text, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint,
      NULL::bigint, u.state, u.seq, u.ord
    FROM unnest(e_state, e_seq) WITH ORDINALITY AS u(state, seq, ord);
END
$fn$;
