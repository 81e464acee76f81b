/**
 * Settlement of one POOL market with BENCH_SETTLE_BETS (default 1,000,000) bets from
 * BENCH_SETTLE_USERS (default bets / 10) users on real PostgreSQL, end to end through the real
 * services, next to a baseline measured in the same run on the same server: COPY (psql \copy,
 * client side) of the same number of rows of the same shape (bet id, market id, user id, outcome id,
 * stake, hold id) into a table with a primary key. Target: settling takes ≤ 2× the COPY, printed as
 * the ratio COPY time / settle time (≥ 0.5×).
 *
 * The baseline is the median of three COPYs measured in the run (before the settle, between it and
 * the refund, after the refund): single COPYs on a shared server vary 2-3×.
 *
 * Setup (not timed): the bets are COPYed into the bet engine's real table (be_bets, ACCEPTED, on a
 * market created and locked through the bet engine's own event handlers), every user gets a
 * funded wallet and every bet its ledger hold (SubmitTransfers, the real ledger store). The same is
 * done for a second market of the same shape, which is canceled and refunded.
 *
 * Timed: the production settlement runner (services/settlement/src/runner.ts) with its store on the
 * bench database, calling the bet engine's real ResolveMarketBets (its handlers and SQL, in-process
 * transport with the production interceptors) and the real ledger (LedgerInternalService on an
 * in-process transport): the resolution and per-user results computed set-based where the bets
 * live, ResolveMarket (one resolution record for all holds), CreditMarketPayouts pages of 20,000,
 * the plan and the final state with every PayoutMade. The bet engine has its own database;
 * settlement and the ledger share another, both on the one PostgreSQL server.
 *
 * Results: (a) settle end to end, (b) refund of the second market end to end, (c) the time until the
 * last winner's wallet shows the payout (the last payout page committed), each vs the COPY. The
 * time per step is printed before the result line.
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); BENCH_SETTLE_BETS;
 * BENCH_SETTLE_USERS; BENCH_SETTLE_REFUND=off skips the refund market (half the setup).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { create, toBinary } from '@bufbuild/protobuf';
import { createClient, type Client } from '@connectrpc/connect';
import type { BetEngineInternalService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  MarketCanceledSchema,
  MarketCreatedSchema,
  MarketLockedSchema,
  MarketOpenedSchema,
  MarketResolvedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import { createBetEngineTestService } from '@streambet/bet-engine/testing';
import { createLogger } from '@streambet/platform/log/logger';
import { handleOnce } from '@streambet/platform/outbox/inbox';
import { createPostgresSql } from '@streambet/platform/sql/postgres';
import {
  betSourceFromClient,
  createMarketHandler,
  createSettlementRunner,
  createSettlementStore,
  ledgerFromClient,
  migrateSettlement,
  type BetSource,
  type SettlementLedger,
} from '@streambet/settlement/testing';
import { manualScheduler } from '@streambet/testkit/clock';
import { asService } from '@streambet/testkit/rpc';
import { createTestTokens } from '@streambet/testkit/tokens';
import {
  AccountKind,
  TransferCode,
  TransferKind,
  TransferResultCode,
  command as ledgerCommand,
  createLedgerTestService,
  type LedgerStore,
  type TransferCommand,
} from '@streambet/user/testing';
import { compare, printResults } from './lib/report.js';
import { createBenchDatabase, findPgbench } from './lib/postgres.js';

const run = promisify(execFile);
const BETS = Number(process.env.BENCH_SETTLE_BETS ?? 1_000_000);
const USERS = Number(process.env.BENCH_SETTLE_USERS ?? Math.max(1, Math.floor(BETS / 10)));
const REFUND = process.env.BENCH_SETTLE_REFUND !== 'off';
const CUR = 'BRL';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Every 2-digit base-32 string, index = value (0–1023). */
const PAIRS = Array.from({ length: 1024 }, (_, v) => CROCKFORD[v >> 5]! + CROCKFORD[v & 31]!);
const ZEROS = '0'.repeat(26);

/** The 26-character ULID-shaped id of n (0 ≤ n < 2^53): its base-32 digits, zero-padded. */
function ulid(n: number): string {
  let out = '';
  let value = n;
  while (value > 0) {
    out = PAIRS[value % 1024]! + out;
    value = Math.floor(value / 1024);
  }
  return ZEROS.slice(out.length) + out;
}

/** One bench market: its ids, and its bets as a function of the bet's index. */
interface BenchMarket {
  readonly marketId: string;
  readonly outcomes: readonly string[];
  readonly betBase: number;
}

const streamerUserId = ulid(777_777_777);
const settled: BenchMarket = {
  marketId: ulid(999_999_999),
  outcomes: [ulid(888_000_001), ulid(888_000_002), ulid(888_000_003)],
  betBase: 10_000_000,
};
const refunded: BenchMarket = {
  marketId: ulid(999_999_998),
  outcomes: [ulid(888_000_011), ulid(888_000_012), ulid(888_000_013)],
  betBase: 20_000_000,
};
const userOf = (i: number): string => ulid(1_000 + (i % USERS));
const betOf = (market: BenchMarket, i: number) => ({
  betId: ulid(market.betBase + i),
  userId: userOf(i),
  outcomeId: market.outcomes[i % 7 === 0 ? 2 : i % 2]!,
  stakeMinor: BigInt(100 + ((i * 7919) % 4900)),
});

function command(
  partial: Partial<TransferCommand> & Pick<TransferCommand, 'transferId'>,
): TransferCommand {
  return ledgerCommand({ currency: CUR, memo: 'bench', ...partial });
}

async function submitOk(ledger: LedgerStore, commands: TransferCommand[]): Promise<void> {
  const results = await ledger.submitTransfers(commands);
  const bad = results.find((r) => r.code !== TransferResultCode.OK);
  if (bad !== undefined)
    throw new Error(`setup transfer ${bad.transferId} failed: ${bad.code} ${bad.detail}`);
}

async function inChunks(
  count: number,
  size: number,
  parallel: number,
  fn: (start: number, end: number) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const start = next;
        next += size;
        await fn(start, Math.min(start + size, count));
      }
    }),
  );
}

function findPsql(): string {
  return path.join(path.dirname(findPgbench()), 'psql');
}

/** Writes BETS CSV lines (`line(i)`) to a temporary file; returns it and its folder. */
async function writeCsv(line: (i: number) => string): Promise<{ dir: string; file: string }> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'settle-copy-'));
  const file = path.join(dir, 'rows.csv');
  const stream = fs.createWriteStream(file);
  const chunk: string[] = [];
  for (let i = 0; i < BETS; i += 1) {
    chunk.push(line(i));
    if (chunk.length === 10_000) {
      if (!stream.write(chunk.join('')))
        await new Promise<void>((r) => stream.once('drain', () => r()));
      chunk.length = 0;
    }
  }
  stream.end(chunk.join(''));
  await new Promise<void>((r) => stream.once('finish', () => r()));
  return { dir, file };
}

/**
 * COPY of BETS rows of a bet's shape into a fresh table with a primary key (psql \copy), dropped
 * afterwards; `n` names the table (one per measurement).
 */
async function copyBaselineMs(url: string, n: number): Promise<number> {
  const { dir, file } = await writeCsv((i) => {
    const bet = betOf(settled, i);
    return `${bet.betId},${settled.marketId},${bet.userId},${bet.outcomeId},${bet.stakeMinor},bet:${bet.betId}:stake\n`;
  });
  try {
    await run(findPsql(), [
      url,
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `CREATE TABLE copy_bets_${n} (bet_id TEXT PRIMARY KEY, market_id TEXT NOT NULL, user_id TEXT NOT NULL,
         outcome_id TEXT NOT NULL, stake_minor BIGINT NOT NULL, hold_transfer_id TEXT NOT NULL)`,
    ]);
    const startedAt = performance.now();
    await run(findPsql(), [
      url,
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `\\copy copy_bets_${n} FROM '${file}' CSV`,
    ]);
    const ms = performance.now() - startedAt;
    await run(findPsql(), [url, '-c', `DROP TABLE copy_bets_${n}`]);
    return ms;
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** COPY of the market's bets into the bet engine's be_bets, ACCEPTED with their holds (setup). */
async function copyBets(url: string, market: BenchMarket, placedAtMs: number): Promise<void> {
  const { dir, file } = await writeCsv((i) => {
    const bet = betOf(market, i);
    return `${bet.betId},${bet.userId},k${market.betBase + i},${market.marketId},${bet.outcomeId},${CUR},${bet.stakeMinor},ACCEPTED,bet:${bet.betId}:stake,2592000,${bet.stakeMinor},${placedAtMs},${placedAtMs}\n`;
  });
  try {
    await run(findPsql(), [
      url,
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `\\copy be_bets (bet_id, user_id, idempotency_key, market_id, outcome_id, currency, stake_minor, status, hold_transfer_id, hold_timeout_seconds, held_minor, placed_at_ms, updated_at_ms) FROM '${file}' CSV`,
    ]);
    // What placement keeps per (market, user, outcome) in the transaction that accepts a bet
    // (store/odds.ts applyHeldDelta), written here for the COPYed bets in one statement.
    await run(findPsql(), [
      url,
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `INSERT INTO be_user_outcome_stakes (market_id, user_id, outcome_id, bet_count, staked_minor)
       SELECT market_id, user_id, outcome_id, count(*), sum(stake_minor)::bigint FROM be_bets
       WHERE market_id = '${market.marketId}' AND status = 'ACCEPTED'
       GROUP BY market_id, user_id, outcome_id`,
    ]);
    await run(findPsql(), [url, '-c', 'ANALYZE be_bets']);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const database = await createBenchDatabase('settle');
  const betDatabase = await createBenchDatabase('settle_bets');
  const sql = createPostgresSql({
    connectionString: database.url,
    maxConnections: 8,
    applicationName: 'bench-settle',
  });
  const betSql = createPostgresSql({
    connectionString: betDatabase.url,
    maxConnections: 8,
    applicationName: 'bench-settle-bet-engine',
  });
  try {
    // Settlement and the ledger share one bench database (their tables do not overlap; each
    // migration run tolerates the other's ids); the bet engine has its own, on the same server.
    await migrateSettlement(sql, { onUnknownApplied: 'warn' });
    const clock = { now: () => Date.now() };
    const ledgerService = await createLedgerTestService({
      sql,
      clock,
      realCurrency: CUR,
      migrate: { onUnknownApplied: 'warn' },
    });
    const ledgerStore = ledgerService.store;
    const tokens = await createTestTokens();
    const engine = await createBetEngineTestService({
      sql: betSql,
      clock,
      tokens,
      user: ledgerService.transport,
      scheduler: manualScheduler(clock),
    });
    const markets = REFUND ? [settled, refunded] : [settled];

    process.stderr.write(
      `setup: ${USERS} wallets, ${markets.length} × ${BETS} bets (COPY) and holds...\n`,
    );
    const setupStartedAt = performance.now();
    await ledgerStore.createAccounts([
      { accountId: `house:${CUR}`, kind: AccountKind.HOUSE, currency: CUR, ownerId: '' },
      { accountId: `rake:${CUR}`, kind: AccountKind.RAKE, currency: CUR, ownerId: '' },
      ...markets.map((market) => ({
        accountId: `market:${market.marketId}:escrow`,
        kind: AccountKind.MARKET_ESCROW,
        currency: CUR,
        ownerId: market.marketId,
      })),
    ]);
    await inChunks(USERS, 1000, 4, async (start, end) => {
      const userIds = Array.from({ length: end - start }, (_, k) => ulid(1_000 + start + k));
      await ledgerStore.createAccounts(
        userIds.map((userId) => ({
          accountId: `wallet:${userId}:${CUR}`,
          kind: AccountKind.USER_WALLET,
          currency: CUR,
          ownerId: userId,
        })),
      );
      await submitOk(
        ledgerStore,
        userIds.map((userId) =>
          command({
            transferId: `fund:${userId}`,
            debitAccountId: `house:${CUR}`,
            creditAccountId: `wallet:${userId}:${CUR}`,
            amountMinor: 100_000_000n,
          }),
        ),
      );
    });
    const openedAtMs = Date.now() - 60_000;
    for (const market of markets) {
      await engine.marketEvent(MarketCreatedSchema, {
        marketId: market.marketId,
        channelId: 'bench-channel',
        channelOwnerUserId: streamerUserId,
        title: 'bench market',
        outcomes: market.outcomes.map((outcomeId, i) => ({ outcomeId, title: `o${i}` })),
        currency: CUR,
        kind: MarketKind.POOL,
        stakeLimits: {
          minStakeMinor: 1n,
          maxStakePerBetMinor: 1_000_000n,
          maxStakePerUserMinor: 0n,
        },
        bettingWindowSeconds: 600,
        commissionBps: 500,
        version: 1n,
      });
      await engine.marketEvent(MarketOpenedSchema, {
        marketId: market.marketId,
        channelId: 'bench-channel',
        openedAtMs: BigInt(openedAtMs),
        bettingClosesAtMs: BigInt(openedAtMs + 600_000),
        version: 2n,
      });
      await copyBets(betDatabase.url, market, openedAtMs + 1_000);
      await engine.marketEvent(MarketLockedSchema, {
        marketId: market.marketId,
        channelId: 'bench-channel',
        lockedAtMs: BigInt(openedAtMs + 30_000),
        lockEffectiveAtMs: BigInt(openedAtMs + 30_000),
        version: 3n,
      });
      await inChunks(BETS, 1000, 4, async (start, end) => {
        const commands: TransferCommand[] = [];
        for (let i = start; i < end; i += 1) {
          const bet = betOf(market, i);
          commands.push(
            command({
              transferId: `bet:${bet.betId}:stake`,
              kind: TransferKind.PENDING,
              debitAccountId: `wallet:${bet.userId}:${CUR}`,
              creditAccountId: `market:${market.marketId}:escrow`,
              amountMinor: bet.stakeMinor,
              code: TransferCode.BET_STAKE,
              marketId: market.marketId,
              betId: bet.betId,
              memo: '',
            }),
          );
        }
        await submitOk(ledgerStore, commands);
      });
    }
    await run(findPsql(), [database.url, '-c', 'VACUUM ANALYZE']);
    await run(findPsql(), [betDatabase.url, '-c', 'VACUUM ANALYZE']);
    process.stderr.write(
      `setup took ${Math.round((performance.now() - setupStartedAt) / 1000)} s\n`,
    );

    const logger = createLogger({ service: 'settlement', level: 'silent' });
    const store = createSettlementStore({ sql, clock });
    const handler = createMarketHandler({ store, clock, logger });
    const headers = await asService(tokens, 'settlement');
    const internal = engine.internal;
    // The bet engine's client as settlement's service credential calls it.
    const betClient = {
      resolveMarketBets: (request: Parameters<typeof internal.resolveMarketBets>[0]) =>
        internal.resolveMarketBets(request, headers),
    } as unknown as Client<typeof BetEngineInternalService>;
    const realBets = betSourceFromClient(betClient);
    const realLedger = ledgerFromClient(
      createClient(LedgerInternalService, ledgerService.transport),
    );
    const times = new Map<string, { ms: number; calls: number }>();
    const timed =
      <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        const startedAt = performance.now();
        try {
          return await fn(...args);
        } finally {
          const t = times.get(name) ?? { ms: 0, calls: 0 };
          times.set(name, { ms: t.ms + performance.now() - startedAt, calls: t.calls + 1 });
        }
      };
    const bets: BetSource = { resolve: timed('ResolveMarketBets', realBets.resolve) };
    const ledger: SettlementLedger = {
      ...realLedger,
      resolveMarket: timed('ResolveMarket', realLedger.resolveMarket),
      creditMarketPayouts: timed('CreditMarketPayouts', realLedger.creditMarketPayouts),
      resolveMarketHolds: timed('ResolveMarketHolds (older path)', realLedger.resolveMarketHolds),
      submit: timed('SubmitTransfers (older path)', realLedger.submit),
      ensureStreamerRevenueAccount: timed(
        'other ledger calls',
        realLedger.ensureStreamerRevenueAccount,
      ),
    };
    const timedStore = { ...store };
    for (const name of ['insertRows', 'savePlan', 'finish', 'payoutPage', 'claim'] as const) {
      const method = store[name] as (...args: never[]) => Promise<unknown>;
      (timedStore as Record<string, unknown>)[name] = timed(`store.${name}`, method);
    }
    let lastPayoutAt = 0;
    const runner = createSettlementRunner({
      store: timedStore,
      clock,
      bets,
      ledger,
      logger,
      leaseMs: 3_600_000,
      afterBatch: ({ phase }) => {
        if (phase === 'PAYOUTS') lastPayoutAt = performance.now();
      },
    });

    async function recordEvent(market: BenchMarket, canceled: boolean): Promise<void> {
      await handleOnce(sql, 'settlement.market', { id: `bench-${market.marketId}` }, async (tx) => {
        await store.recordMarketTerms(tx, {
          marketId: market.marketId,
          channelId: 'bench-channel',
          kind: MarketKind.POOL,
          currency: CUR,
          outcomeIds: market.outcomes,
          commissionBps: 500,
          streamerShareBps: 3000,
          streamerUserId,
        });
        if (canceled) {
          const payload = toBinary(
            MarketCanceledSchema,
            create(MarketCanceledSchema, {
              marketId: market.marketId,
              channelId: 'bench-channel',
              canceledAtMs: BigInt(Date.now()),
              currency: CUR,
              version: 4n,
            }),
          );
          await handler(MarketCanceledSchema.typeName, payload, tx);
          return;
        }
        const payload = toBinary(
          MarketResolvedSchema,
          create(MarketResolvedSchema, {
            marketId: market.marketId,
            channelId: 'bench-channel',
            winningOutcomeId: market.outcomes[0]!,
            kind: MarketKind.POOL,
            currency: CUR,
            commissionBps: 500,
            streamerRevenueShareBps: 3000,
            streamerUserId,
            resolvedAtMs: BigInt(Date.now()),
            version: 4n,
          }),
        );
        await handler(MarketResolvedSchema.typeName, payload, tx);
      });
    }

    const splits = (): string =>
      [...times]
        .map(([name, t]) => `${name} ${Math.round(t.ms)} ms / ${t.calls} call(s)`)
        .join(', ');

    // The baseline is the median of three COPYs, one before the settle, one between the settle
    // and the refund, one after: the shared server's noise moves single COPYs by 2-3×.
    const copies: number[] = [];
    const measureCopy = async (): Promise<void> => {
      const ms = await copyBaselineMs(database.url, copies.length + 1);
      copies.push(ms);
      process.stderr.write(`COPY #${copies.length} of ${BETS} rows: ${Math.round(ms)} ms\n`);
    };
    await measureCopy();

    await recordEvent(settled, false);
    process.stderr.write('settling...\n');
    const startedAt = performance.now();
    const record = await runner.runOnce(settled.marketId);
    const settleMs = performance.now() - startedAt;
    if (record?.status !== 'COMPLETED')
      throw new Error(`settlement ended ${record?.status}: ${record?.lastError}`);
    const lastWinnerMs = lastPayoutAt - startedAt;
    const escrow = (await ledgerStore.lookupAccounts([`market:${settled.marketId}:escrow`]))[0]!;
    if (
      escrow.balance.creditsPosted !== escrow.balance.debitsPosted ||
      escrow.balance.creditsPending !== 0n
    )
      throw new Error('escrow is not zero after settlement');
    process.stderr.write(
      `settled ${BETS} bets / ${record.figures.payoutCount} users in ${Math.round(settleMs)} ms ` +
        `(${record.marketResolved ? 'one market resolution record' : 'older per-hold path'}); ` +
        `last winner paid after ${Math.round(lastWinnerMs)} ms; ${splits()}\n`,
    );

    const settleSplit = splits();
    await measureCopy();
    let refundMs = 0;
    let refundSplit = '';
    if (REFUND) {
      times.clear();
      await recordEvent(refunded, true);
      process.stderr.write('refunding...\n');
      const refundStartedAt = performance.now();
      const refundRecord = await runner.runOnce(refunded.marketId);
      refundMs = performance.now() - refundStartedAt;
      if (refundRecord?.status !== 'REFUNDED')
        throw new Error(`refund ended ${refundRecord?.status}: ${refundRecord?.lastError}`);
      refundSplit = splits();
      process.stderr.write(
        `refunded ${BETS} bets / ${refundRecord.figures.payoutCount} users in ${Math.round(refundMs)} ms; ${refundSplit}\n`,
      );
    }
    await measureCopy();
    const copyMs = [...copies].sort((a, b) => a - b)[1]!;
    // The per-step split, on stdout before the result line (stderr has it too).
    process.stdout.write(
      `COPY baseline: median of ${copies.map((ms) => Math.round(ms)).join(', ')} ms = ${Math.round(copyMs)} ms\n` +
        `settle split: ${settleSplit}\n` +
        (REFUND ? `refund split: ${refundSplit}\n` : ''),
    );
    const perSecond = (ms: number): number => (BETS * 1000) / ms;
    printResults('settle', [
      compare(
        `settle ${BETS} bets / ${USERS} users end to end (bets/s; ratio = COPY time / settle time)`,
        perSecond(settleMs),
        'bets/s',
        perSecond(copyMs),
        0.5,
      ),
      ...(REFUND
        ? [
            compare(
              `refund ${BETS} bets / ${USERS} users end to end (bets/s vs COPY)`,
              perSecond(refundMs),
              'bets/s',
              perSecond(copyMs),
              0.5,
            ),
          ]
        : []),
      compare(
        `until the last winner's wallet shows the payout (bets/s vs COPY; ${Math.round(lastWinnerMs)} ms)`,
        perSecond(lastWinnerMs),
        'bets/s',
        perSecond(copyMs),
        0.5,
      ),
    ]);
  } finally {
    await sql.close();
    await betSql.close();
    await database.drop();
    await betDatabase.drop();
  }
}

await main();
