-- The ledger's server-side functions as a database has them after the last migration: the one
-- place to read a function's current definition. Nothing runs this file (only <id>.sql files
-- directly in migrations/ are migrations); ledger-current-functions.int.spec.ts migrates a fresh
-- database, runs this file over it and fails unless every function is here and nothing changed.
--
-- To change a function: copy its definition from here into a new migration (the next number),
-- change it there (a new argument or result column needs DROP FUNCTION first, as in 0105), then
-- paste the new definition here and name the new migration in its "installed by" line.

-- ledger_account_json: installed by 0101_ledger_functions.
-- One account row as a JSON array (bigints as text), the shape the ledger store parses.
CREATE OR REPLACE FUNCTION ledger_account_json(a ledger_accounts) RETURNS json
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT json_build_array(a.id, a.kind, a.currency, a.owner_id, a.constrained,
    a.created_at_ms::text, a.debits_pending::text, a.debits_posted::text,
    a.credits_pending::text, a.credits_posted::text)
$fn$;

-- ledger_transfer_json: installed by 0101_ledger_functions.
-- One transfer with its hold's state as a JSON array (bigints as text; status 0 and resolved_at 0
-- when it has no hold row), the shape the ledger store parses.
CREATE OR REPLACE FUNCTION ledger_transfer_json(t ledger_transfers, status smallint, resolved_at_ms bigint)
RETURNS json LANGUAGE sql IMMUTABLE AS $fn$
  SELECT json_build_array(t.id, t.kind, t.debit_account_id, t.credit_account_id, t.amount::text,
    t.currency, t.pending_id, t.timeout_seconds::text, t.expires_at_ms::text, t.code, t.market_id,
    t.bet_id, t.payment_id, t.settlement_id, t.memo, t.committed_at_ms::text, t.seq::text,
    coalesce(status, 0), coalesce(resolved_at_ms, 0)::text, t.fingerprint)
$fn$;

-- ledger_read_batch: installed by 0113_ledger_stake_holds_only_are_the_markets (earlier versions: 0101, 0110, 0112).
-- Reads what a batch needs, locking in the ledger's one order: the holds it resolves (by id), the
-- markets of those stake holds (code BET_STAKE) and of the batch's new stake holds (market_ids; rows created when missing,
-- FOR SHARE, resolved ones returned as 'm'), then per-user accounts and the system accounts it debits (class, then id); with strict, every
-- account. Then, with a fresh snapshot (VOLATILE: each statement takes a new one, after the
-- locks), the accounts left unlocked and the committed transfers whose ids the batch uses.
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

-- ledger_commit_batch: installed by 0113_ledger_stake_holds_only_are_the_markets (earlier versions: 0101, 0102, 0105, 0107, 0110, 0112).
-- Commits a planned batch in one statement (the one-statement path runs it with no surrounding
-- transaction, so it checks for itself). Takes the rows of the markets its holds belong to FOR
-- SHARE (40001 when one was resolved meanwhile), then locks and updates the batch's per-user accounts first,
-- then its system accounts, both in the ledger's (class, id) order, so a hot escrow stays locked
-- only for the sequence numbers and inserts; one aggregated delta per account. Refuses a batch
-- naming a missing account (LG001), and one that leaves a constrained account below a_need, the
-- available balance it must keep for no command in the batch to have overdrawn it (23514; the
-- CHECK on ledger_accounts refuses an overdraft at the end of the batch too). Then takes one
-- sequence number per step (after every lock, so per account sequence order is commit order),
-- inserts the transfers and new holds, records resolved holds and adds or removes their amounts
-- in the market's open-hold totals. Returns every touched
-- account's new totals, plus one row (o_id NULL) with the sequence numbers.
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

-- ledger_transfer_one: installed by 0113_ledger_stake_holds_only_are_the_markets (earlier versions: 0102, 0110).
-- One new transfer or hold in one statement (the one-round-trip path of a single command): for a
-- hold of a market, its market's row FOR SHARE (40001 when resolved) and, at the end, its
-- open-hold totals; lock
-- and update both accounts in the ledger's (class, id) order, take the sequence number after the
-- locks, insert the transfer (primary key: 23505 when the id is taken) and, for a hold, its state.
-- The CHECK on ledger_accounts refuses an overdraft (23514). Returns both accounts' new totals and
-- one row (o_id NULL) with the sequence number.
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

-- ledger_resolve_market_holds: installed by 0110_ledger_market_resolution (earlier versions: 0104, 0108).
-- Set-based bulk settlement (ResolveMarketHolds): one page of a market's open holds in one
-- statement. Takes the market's row FOR SHARE (a market resolved by ResolveMarket has nothing
-- open: an empty summary) and removes what it resolves from the market's open-hold totals. Locks the page's holds (FOR UPDATE, hold id order, re-checked after the lock so a
-- hold resolved meanwhile is skipped), then the touched accounts in the ledger's (class, id)
-- order (wallets and streamer accounts, then system accounts) — the order of ledger_read_batch
-- and ledger_commit_batch, so it cannot deadlock with them. Per hold, in this order: a derived id
-- longer than p_max_id_length or a BET_STAKE hold without bet id is refused (as the command's
-- shape check refuses it); with p_probe, a derived id already taken is ALREADY_EXISTS_SAME when
-- the stored transfer is the derived command's (its fingerprint, or for an empty fingerprint the
-- derivation's fields: id, hold, amount, currency, code, market, bet and settlement, no payment and
-- no memo), ID_REUSED_DIFFERENT_CONTENT otherwise (without p_probe the insert fails with 23505
-- instead and the caller repeats the page with p_probe: an open hold's derived id is almost never
-- taken, so the first try skips a lookup per hold); a hold past its timeout at p_now expires
-- (status 4, expiry_seq, balances released, exactly as the expiry path); any other is resolved by
-- one inserted transfer with the derived id, its own sequence number and an empty fingerprint,
-- which stands for the derived command's (the ledger store derives it on demand). Then one
-- aggregated delta per account (the CHECK keeps constrained accounts non-negative). Returns rows
-- tagged by r_kind: 'a' one per touched account with its new totals; 'f' one per refused hold
-- (r_id the derived transfer id, or the hold id when too long; r_count result code, r_text
-- detail); 's' one summary (r_count resolved, r_amount resolved amount, r_dpend expired count,
-- r_dpost expired amount, r_cpend already resolved count, r_cpost highest sequence taken, r_id
-- next cursor or '', r_currency first hold id, r_text last hold id).
CREATE OR REPLACE FUNCTION ledger_resolve_market_holds(
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
  resolved bigint;
BEGIN
  -- The market's row, FOR SHARE (see ledger_commit_batch): a market resolved by
  -- ResolveMarket has no open holds left to page through.
  INSERT INTO ledger_markets (market_id) VALUES (p_market) ON CONFLICT DO NOTHING;
  SELECT m.resolved_at_ms INTO resolved FROM ledger_markets m WHERE m.market_id = p_market
    FOR SHARE;
  IF resolved IS NOT NULL THEN
    RETURN QUERY SELECT 's'::text, ''::text, ''::text, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
      0::bigint, 0::bigint, ''::text;
    RETURN;
  END IF;
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
        (SELECT CASE WHEN x.fingerprint = f.fp
            OR (x.fingerprint = '' AND x.kind = resolving_kind AND x.pending_id = f.id
              AND x.amount = f.amount AND x.currency = f.currency AND x.code = p_code
              AND x.market_id = p_market AND x.bet_id = f.bet AND x.settlement_id = p_settlement
              AND x.payment_id = '' AND x.memo = '') THEN 3 ELSE 6 END
         FROM ledger_transfers x WHERE x.id = f.id || suffix)
      WHEN f.expires > 0 AND f.expires <= p_now THEN 2
      ELSE 1
      END::smallint)
  INTO h_fp, h_state
  FROM (
    SELECT u.id, u.bet, u.expires, u.amount, u.currency, CASE WHEN p_probe THEN rtrim(translate(encode(sha256(convert_to(
      '["' || u.id || suffix || '",' || resolving_kind::text || ',"","","'
      || CASE WHEN p_post THEN u.amount::text ELSE '0' END || '","' || u.currency || '","'
      || u.id || '","0",false,' || p_code::text || ',' || market_json || ',"' || u.bet
      || '","",' || settlement_json || ',""]|', 'UTF8')), 'base64'), '+/', '-_'), '=') END AS fp
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
    p_code, p_market, u.bet, '', p_settlement, '', p_now, ''
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
  -- The market's open-hold totals lose the holds resolved or expired here.
  INSERT INTO ledger_market_hold_totals AS g (market_id, debit_account_id, credit_account_id,
    open_count, open_amount)
  SELECT p_market, u.debit, u.credit, -count(*), -sum(u.amount)
  FROM unnest(h_debit, h_credit, h_amount, h_state) AS u(debit, credit, amount, state)
  WHERE u.state <= 2
  GROUP BY u.debit, u.credit
  ORDER BY u.debit, u.credit
  ON CONFLICT (market_id, debit_account_id, credit_account_id) DO UPDATE SET
    open_count = g.open_count + excluded.open_count,
    open_amount = g.open_amount + excluded.open_amount;
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

-- ledger_account_hashes: installed by 0106_ledger_history_hash_keys.
-- The hashes of a list of account ids. Immutable, so with the list known when a statement is
-- planned the planner folds it into a constant array and sizes the index scan from real values
-- (a subquery would leave it guessing, and pick a parallel scan for two wallets).
CREATE OR REPLACE FUNCTION ledger_account_hashes(ids text[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$ SELECT coalesce(array_agg(hashtext(a)), '{}') FROM unnest(ids) AS a $fn$;

-- ledger_hold_json: installed by 0113_ledger_stake_holds_only_are_the_markets (earlier version: 0110).
-- One transfer with its hold's state as JSON (ledger_transfer_json), the state derived from its
-- market's resolution while the hold row itself is still PENDING: the resolution's status (POSTED
-- or VOIDED) and instant, or EXPIRED when its timeout had elapsed by then. Only stake holds
-- (code BET_STAKE = 3) belong to their market's resolution; any other hold naming a market (a
-- reversal's claw-back hold) keeps its own state.
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

-- ledger_resolve_market: installed by 0111_ledger_market_settlement_plans (earlier version: 0110).
-- ResolveMarket in one statement: locks the market's row FOR UPDATE (waits for hold commits in
-- flight; already resolved: returns the stored resolution, r_dpend = 1, and changes nothing);
-- per (debit, credit) pair of the market's open-hold totals, the holds past their timeout at
-- p_now (released, never posted) found through the expiry index, the rest posted or released;
-- with p_expected > 0 the amount to resolve must equal it (LG003); one aggregated delta per
-- account in the ledger's (class, id) order; one sequence number; the resolution row. Returns 'a'
-- rows (each changed account's new totals) and one 'r' row (the resolution as a JSON array).
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

-- ledger_credit_market_payouts: installed by 0111_ledger_market_settlement_plans (earlier version: 0110).
-- CreditMarketPayouts in one statement: the market must be resolved with POST_IN_FULL (LG004;
-- its row FOR SHARE); locks the page's accounts and the escrow in (class, id) order; then
-- classifies each entry (1 new, 2 same derived id and fingerprint, 3 different, 4 no account,
-- 5 other currency); refuses a missing escrow (LG005) or one below the new entries' sum (LG006);
-- inserts one SINGLE_PHASE transfer per new entry, credits each account once, debits the escrow
-- once. Returns 'a' rows (new totals) and 'e' rows (state, sequence, ordinal per entry).
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
