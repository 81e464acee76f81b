
-- Set-based bulk settlement (ResolveMarketHolds): one page of a market's open holds in one
-- statement. Locks the page's holds (FOR UPDATE, hold id order, re-checked after the lock so a
-- hold resolved meanwhile is skipped), then the touched accounts in the ledger's (class, id)
-- order (wallets and streamer accounts, then system accounts) — the order of ledger_read_batch
-- and ledger_commit_batch, so it cannot deadlock with them. Per hold, in this order: a derived id
-- longer than p_max_id_length or a BET_STAKE hold without bet id is refused (as the command's
-- shape check refuses it); with p_probe, a derived id already taken is ALREADY_EXISTS_SAME when
-- its fingerprint is the derived command's, ID_REUSED_DIFFERENT_CONTENT otherwise (without
-- p_probe the insert fails with 23505 instead and the caller repeats the page with p_probe: an
-- open hold's derived id is almost never taken, so the first try skips a lookup per hold); a hold
-- past its timeout at p_now expires (status 4, expiry_seq, balances released, exactly as the
-- expiry path); any other is resolved by one inserted transfer with the derived id, its own
-- sequence number and the fingerprint the JS path computes (ledger-store.ts fingerprintsOf:
-- base64url of sha256(<canonical JSON of the command> || '|')). Then one aggregated delta per
-- account (the CHECK keeps constrained accounts non-negative). Returns rows tagged by r_kind:
-- 'a' one per touched account with its new totals; 'f' one per refused hold (r_id the derived
-- transfer id, or the hold id when too long; r_count result code, r_text detail); 's' one summary
-- (r_count resolved, r_amount resolved amount, r_dpend expired count, r_dpost expired amount,
-- r_cpend already resolved count, r_cpost highest sequence taken, r_id next cursor or '',
-- r_currency first hold id, r_text last hold id).
CREATE FUNCTION ledger_resolve_market_holds(
  p_market text, p_after text, p_limit integer, p_post boolean, p_code smallint,
  p_settlement text, p_now bigint, p_max_id_length integer, p_probe boolean
) RETURNS TABLE (
  r_kind text, r_id text, r_currency text, r_dpend bigint, r_dpost bigint, r_cpend bigint,
  r_cpost bigint, r_count bigint, r_amount bigint, r_text text
) LANGUAGE plpgsql VOLATILE
-- Index-driven joins of the page's arrays with the big tables (a hash join would scan them), and
-- plans made for each call's values (a generic plan may not walk the market's hold index).
SET enable_hashjoin = off SET enable_mergejoin = off SET plan_cache_mode = force_custom_plan
AS $fn$
DECLARE
  suffix text := CASE WHEN p_post THEN ':post' ELSE ':void' END;
  resolving_kind smallint := CASE WHEN p_post THEN 3 ELSE 4 END;
  new_status smallint := CASE WHEN p_post THEN 2 ELSE 3 END;
  market_json text := to_json(p_market)::text;
  settlement_json text := to_json(p_settlement)::text;
  h_id text[];
  h_amount bigint[];
  h_debit text[];
  h_credit text[];
  h_currency text[];
  h_bet text[];
  h_expires bigint[];
  h_fp text[];
  h_state smallint[];
  h_seq bigint[];
  a_id text[];
  a_dpend bigint[];
  a_dpost bigint[];
  a_cpend bigint[];
  a_cpost bigint[];
  n integer;
  first_id text;
  last_id text;
  more boolean;
BEGIN
  -- The page, locked in hold id order; the arrays are aligned (one aggregate pass).
  SELECT array_agg(p.id), array_agg(p.amount), array_agg(p.debit_account_id),
    array_agg(p.credit_account_id), array_agg(p.currency), array_agg(p.bet_id),
    array_agg(p.expires_at_ms), min(p.id), max(p.id)
  INTO h_id, h_amount, h_debit, h_credit, h_currency, h_bet, h_expires, first_id, last_id
  FROM (
    SELECT t.id, t.amount, t.debit_account_id, t.credit_account_id, t.currency, t.bet_id,
      h.expires_at_ms
    FROM ledger_transfers t JOIN ledger_holds h ON h.transfer_id = t.id
    WHERE t.market_id = p_market AND t.kind = 2 AND t.id > p_after AND h.status = 1
    ORDER BY t.id
    LIMIT p_limit
    FOR UPDATE OF h
  ) p;
  n := coalesce(array_length(h_id, 1), 0);
  IF n = 0 THEN
    RETURN QUERY SELECT 's'::text, ''::text, ''::text, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
      0::bigint, 0::bigint, ''::text;
    RETURN;
  END IF;
  -- Per hold its fingerprint (canonicalContent in transfer-rules.ts: a JSON array without spaces,
  -- amount and timeout as strings, linked false; chain digest empty) and its state: 1 resolve,
  -- 2 expire, 3 already resolved by the same command, 4 id too long, 5 BET_STAKE without bet id,
  -- 6 derived id taken by a different transfer. The hold's id, currency and bet id are quoted
  -- without escaping: the ledger stored them only after checking them against [A-Za-z0-9:_.-],
  -- [A-Z] and ULID, none of which JSON escapes.
  SELECT array_agg(f.fp), array_agg(CASE
      WHEN length(f.id) > p_max_id_length THEN 4
      WHEN p_code = 3 AND f.bet = '' THEN 5
      WHEN p_probe AND EXISTS (SELECT 1 FROM ledger_transfers x WHERE x.id = f.id || suffix) THEN
        (SELECT CASE WHEN x.fingerprint = f.fp THEN 3 ELSE 6 END
         FROM ledger_transfers x WHERE x.id = f.id || suffix)
      WHEN f.expires > 0 AND f.expires <= p_now THEN 2
      ELSE 1
      END::smallint)
  INTO h_fp, h_state
  FROM (
    SELECT u.id, u.bet, u.expires, rtrim(translate(encode(sha256(convert_to(
      '["' || u.id || suffix || '",' || resolving_kind::text || ',"","","'
      || CASE WHEN p_post THEN u.amount::text ELSE '0' END || '","' || u.currency || '","'
      || u.id || '","0",false,' || p_code::text || ',' || market_json || ',"' || u.bet
      || '","",' || settlement_json || ',""]|', 'UTF8')), 'base64'), '+/', '-_'), '=') AS fp
    FROM unnest(h_id, h_amount, h_currency, h_bet, h_expires)
      AS u(id, amount, currency, bet, expires)
  ) f;
  -- One aggregated delta per touched account, then the locks in the ledger's order.
  SELECT array_agg(m.id), array_agg(m.dpend), array_agg(m.dpost), array_agg(m.cpend),
    array_agg(m.cpost)
  INTO a_id, a_dpend, a_dpost, a_cpend, a_cpost
  FROM (
    SELECT m.id, sum(m.dpend)::bigint AS dpend, sum(m.dpost)::bigint AS dpost,
      sum(m.cpend)::bigint AS cpend, sum(m.cpost)::bigint AS cpost
    FROM (
      SELECT u.debit AS id, -u.amount AS dpend,
        CASE WHEN u.state = 1 AND p_post THEN u.amount ELSE 0 END AS dpost,
        0::bigint AS cpend, 0::bigint AS cpost
      FROM unnest(h_debit, h_amount, h_state) AS u(debit, amount, state) WHERE u.state <= 2
      UNION ALL
      SELECT u.credit, 0::bigint, 0::bigint, -u.amount,
        CASE WHEN u.state = 1 AND p_post THEN u.amount ELSE 0 END
      FROM unnest(h_credit, h_amount, h_state) AS u(credit, amount, state) WHERE u.state <= 2
    ) m GROUP BY m.id
  ) m;
  PERFORM 1 FROM ledger_accounts a WHERE a.id = ANY(a_id)
    ORDER BY NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%'), a.id
    FOR UPDATE;
  -- One sequence number per resolved or expired hold, taken after the locks.
  h_seq := ARRAY(
    SELECT CASE WHEN s.state <= 2 THEN nextval('ledger_seq') END FROM unnest(h_state) AS s(state));
  INSERT INTO ledger_transfers (id, seq, kind, debit_account_id, credit_account_id, amount, currency,
    pending_id, timeout_seconds, expires_at_ms, code, market_id, bet_id, payment_id, settlement_id,
    memo, committed_at_ms, fingerprint)
  SELECT u.id || suffix, u.seq, resolving_kind, u.debit, u.credit, u.amount, u.currency, u.id, 0, 0,
    p_code, p_market, u.bet, '', p_settlement, '', p_now, u.fp
  FROM unnest(h_id, h_seq, h_debit, h_credit, h_amount, h_currency, h_bet, h_fp, h_state)
    AS u(id, seq, debit, credit, amount, currency, bet, fp, state)
  WHERE u.state = 1;
  UPDATE ledger_holds h SET
    status = CASE WHEN u.state = 1 THEN new_status ELSE 4 END,
    resolved_at_ms = p_now,
    resolved_by = CASE WHEN u.state = 1 THEN u.id || suffix ELSE '' END,
    expiry_seq = CASE WHEN u.state = 2 THEN u.seq END
  FROM unnest(h_id, h_state, h_seq) AS u(id, state, seq)
  WHERE h.transfer_id = u.id AND u.state <= 2;
  RETURN QUERY
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + d.dpend,
      debits_posted = a.debits_posted + d.dpost,
      credits_pending = a.credits_pending + d.cpend,
      credits_posted = a.credits_posted + d.cpost
    FROM unnest(a_id, a_dpend, a_dpost, a_cpend, a_cpost) AS d(id, dpend, dpost, cpend, cpost)
    WHERE a.id = d.id
    RETURNING 'a'::text, a.id::text, a.currency, a.debits_pending, a.debits_posted,
      a.credits_pending, a.credits_posted, NULL::bigint, NULL::bigint, NULL::text;
  RETURN QUERY
    SELECT 'f'::text, CASE WHEN u.state = 4 THEN u.id ELSE u.id || suffix END, ''::text,
      NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
      CASE u.state WHEN 4 THEN 4 WHEN 5 THEN 6 ELSE 3 END::bigint, NULL::bigint,
      CASE u.state
        WHEN 4 THEN 'hold id ' || u.id || ' is too long to derive a resolving transfer id; resolve it with SubmitTransfers'
        WHEN 5 THEN 'bet_id is required for BET_STAKE'
        ELSE 'transfer id ' || u.id || suffix || ' is already used by a different transfer' END
    FROM unnest(h_id, h_state) AS u(id, state)
    WHERE u.state >= 4;
  -- More open holds after this page? (A short page took all there were: the ones it skipped had
  -- been resolved meanwhile.) Walks the market's hold index from the page's end.
  more := n = p_limit AND (
    SELECT t.id FROM ledger_transfers t JOIN ledger_holds h ON h.transfer_id = t.id
    WHERE t.market_id = p_market AND t.kind = 2 AND t.id > last_id AND h.status = 1
    ORDER BY t.id LIMIT 1) IS NOT NULL;
  RETURN QUERY
    SELECT 's'::text, CASE WHEN more THEN last_id ELSE '' END, first_id,
      count(*) FILTER (WHERE u.state = 2), coalesce(sum(u.amount) FILTER (WHERE u.state = 2), 0)::bigint,
      count(*) FILTER (WHERE u.state = 3), coalesce(max(u.seq), 0),
      count(*) FILTER (WHERE u.state = 1), coalesce(sum(u.amount) FILTER (WHERE u.state = 1), 0)::bigint,
      last_id
    FROM unnest(h_state, h_amount, h_seq) AS u(state, amount, seq);
END
$fn$;
