/**
 * Settlement of one POOL market with BENCH_SETTLE_BETS (default 1,000,000) bets on real PostgreSQL,
 * next to a baseline measured in the same run on the same server: COPY (psql \copy, client side)
 * of the same number of rows of the same shape (bet id, market id, user id, outcome id, stake,
 * hold id) into a table with a primary key. Target: settling takes ≤ 2× the COPY, printed as the
 * ratio COPY time / settle time (≥ 0.5×).
 *
 * The settlement is the production runner (services/settlement/src/runner.ts) with its store on the
 * bench database, reading the bets from an in-bench BetEngineInternalService.ListMarketBets (bets
 * generated in bet_id order, resumable by after_bet_id) over an in-memory Connect transport, and
 * moving money through the real ledger (the user service's store and LedgerInternalService, same
 * database, in-process transport). Setup (wallets, funding, one hold per bet) is not timed.
 *
 * Results: (a) end to end, (b) the settlement's own work without the time spent inside the ledger
 * (what settlement controls). stderr splits the time: hold resolution (ResolveMarketHolds pages of
 * 10,000 holds, set-based in the ledger), payouts (SubmitTransfers batches of 1000), the ledger
 * reads (escrow checks) and the settlement's own time, with the part of it spent waiting for the
 * next batch of bets (the bet engine's work, the transport and the decoding).
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); BENCH_SETTLE_BETS;
 * BENCH_SETTLE_USERS (default bets / 10).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { create, toBinary } from '@bufbuild/protobuf';
import { createClient, createRouterTransport } from '@connectrpc/connect';
import {
  BetEngineInternalService,
  BetSide,
  BetStatus,
  MarketBetSchema,
  type MarketBet,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketResolvedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
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
const CUR = 'BRL';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Every 2-digit base-32 string, index = value (0–1023). */
const PAIRS = Array.from({ length: 1024 }, (_, v) => CROCKFORD[v >> 5]! + CROCKFORD[v & 31]!);
const ZEROS = '0'.repeat(26);

/**
 * The 26-character ULID-shaped id of n (0 ≤ n < 2^53): its base-32 digits, zero-padded; built two
 * digits at a time (one string per id, about what reading it from a row costs the bet engine).
 */
function ulid(n: number): string {
  let out = '';
  let value = n;
  while (value > 0) {
    out = PAIRS[value % 1024]! + out;
    value = Math.floor(value / 1024);
  }
  return ZEROS.slice(out.length) + out;
}

function unulid(id: string): number {
  let value = 0;
  for (const char of id) value = value * 32 + CROCKFORD.indexOf(char);
  return value;
}

const BET_BASE = 10_000_000;
const marketId = ulid(999_999_999);
const outcomes = [ulid(888_000_001), ulid(888_000_002), ulid(888_000_003)];
const streamerUserId = ulid(777_777_777);
const userOf = (i: number): string => ulid(1_000 + (i % USERS));
const betOf = (i: number) => ({
  betId: ulid(BET_BASE + i),
  userId: userOf(i),
  outcomeId: outcomes[i % 7 === 0 ? 2 : i % 2]!,
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

/** COPY of BETS rows of a bet's shape into a fresh table with a primary key (psql \copy). */
async function copyBaselineMs(url: string): Promise<number> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'settle-copy-'));
  const file = path.join(dir, 'bets.csv');
  try {
    const stream = fs.createWriteStream(file);
    const chunk: string[] = [];
    for (let i = 0; i < BETS; i += 1) {
      const bet = betOf(i);
      chunk.push(
        `${bet.betId},${marketId},${bet.userId},${bet.outcomeId},${bet.stakeMinor},bet:${bet.betId}:stake\n`,
      );
      if (chunk.length === 10_000) {
        if (!stream.write(chunk.join('')))
          await new Promise<void>((r) => stream.once('drain', () => r()));
        chunk.length = 0;
      }
    }
    stream.end(chunk.join(''));
    await new Promise<void>((r) => stream.once('finish', () => r()));
    await run(findPsql(), [
      url,
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `CREATE TABLE copy_bets (bet_id TEXT PRIMARY KEY, market_id TEXT NOT NULL, user_id TEXT NOT NULL,
         outcome_id TEXT NOT NULL, stake_minor BIGINT NOT NULL, hold_transfer_id TEXT NOT NULL)`,
    ]);
    const startedAt = performance.now();
    await run(findPsql(), [
      url,
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `\\copy copy_bets FROM '${file}' CSV`,
    ]);
    return performance.now() - startedAt;
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** ListMarketBets over generated bets: bet_id order, after_bet_id, batch_size. */
function fakeBetEngine() {
  return createRouterTransport((router) => {
    router.service(BetEngineInternalService, {
      async *listMarketBets(request) {
        const size = request.batchSize === 0 ? 1000 : request.batchSize;
        let index = request.afterBetId === '' ? 0 : unulid(request.afterBetId) - BET_BASE + 1;
        while (index < BETS) {
          await Promise.resolve();
          const bets: MarketBet[] = [];
          for (const end = Math.min(index + size, BETS); index < end; index += 1) {
            const bet = betOf(index);
            // Field by field, as the bet engine's ListMarketBets builds it (a spread of `bet` here
            // made create() several times slower than the real handler).
            bets.push(
              create(MarketBetSchema, {
                betId: bet.betId,
                userId: bet.userId,
                outcomeId: bet.outcomeId,
                side: BetSide.BACK,
                status: BetStatus.ACCEPTED,
                stakeMinor: bet.stakeMinor,
                holdTransferId: `bet:${bet.betId}:stake`,
                heldMinor: bet.stakeMinor,
              }),
            );
          }
          yield { bets, currency: CUR, kind: MarketKind.POOL };
        }
      },
    });
  });
}

async function main(): Promise<void> {
  const database = await createBenchDatabase('settle');
  const sql = createPostgresSql({
    connectionString: database.url,
    maxConnections: 8,
    applicationName: 'bench-settle',
  });
  try {
    await migrateSettlement(sql, { onUnknownApplied: 'warn' });
    const clock = { now: () => Date.now() };
    const ledgerService = await createLedgerTestService({
      sql,
      clock,
      realCurrency: CUR,
      migrate: { onUnknownApplied: 'warn' },
    });
    const ledgerStore = ledgerService.store;

    process.stderr.write(`setup: ${USERS} wallets, ${BETS} holds...\n`);
    const setupStartedAt = performance.now();
    await ledgerStore.createAccounts([
      { accountId: `house:${CUR}`, kind: AccountKind.HOUSE, currency: CUR, ownerId: '' },
      { accountId: `rake:${CUR}`, kind: AccountKind.RAKE, currency: CUR, ownerId: '' },
      {
        accountId: `market:${marketId}:escrow`,
        kind: AccountKind.MARKET_ESCROW,
        currency: CUR,
        ownerId: marketId,
      },
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
            amountMinor: 10_000_000n,
          }),
        ),
      );
    });
    await inChunks(BETS, 1000, 4, async (start, end) => {
      const commands: TransferCommand[] = [];
      for (let i = start; i < end; i += 1) {
        const bet = betOf(i);
        commands.push(
          command({
            transferId: `bet:${bet.betId}:stake`,
            kind: TransferKind.PENDING,
            debitAccountId: `wallet:${bet.userId}:${CUR}`,
            creditAccountId: `market:${marketId}:escrow`,
            amountMinor: bet.stakeMinor,
            code: TransferCode.BET_STAKE,
            marketId,
            betId: bet.betId,
            memo: '',
          }),
        );
      }
      await submitOk(ledgerStore, commands);
    });
    process.stderr.write(
      `setup took ${Math.round((performance.now() - setupStartedAt) / 1000)} s\n`,
    );

    const logger = createLogger({ service: 'settlement', level: 'silent' });
    const store = createSettlementStore({ sql, clock });
    // Time spent in each store method during the run (stderr), to see where settlement's own time goes.
    const storeMs = new Map<string, number>();
    for (const [name, method] of Object.entries(store)) {
      if (typeof method !== 'function') continue;
      (store as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
        const startedAt = performance.now();
        try {
          return await (method as (...a: unknown[]) => Promise<unknown>)(...args);
        } finally {
          storeMs.set(name, (storeMs.get(name) ?? 0) + performance.now() - startedAt);
        }
      };
    }
    const handler = createMarketHandler({ store, clock, logger });
    await handleOnce(sql, 'settlement.market', { id: 'bench-resolved' }, async (tx) => {
      await store.recordMarketTerms(tx, {
        marketId,
        channelId: 'bench-channel',
        kind: MarketKind.POOL,
        currency: CUR,
        outcomeIds: outcomes,
        commissionBps: 500,
        streamerShareBps: 3000,
        streamerUserId,
      });
      const payload = toBinary(
        MarketResolvedSchema,
        create(MarketResolvedSchema, {
          marketId,
          channelId: 'bench-channel',
          winningOutcomeId: outcomes[0]!,
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

    let holdsMs = 0;
    let holdPages = 0;
    let payoutsMs = 0;
    let payoutCalls = 0;
    let otherLedgerMs = 0;
    const realLedger = ledgerFromClient(
      createClient(LedgerInternalService, ledgerService.transport),
    );
    const timed =
      <A extends unknown[], R>(fn: (...args: A) => Promise<R>, add: (ms: number) => void) =>
      async (...args: A): Promise<R> => {
        const startedAt = performance.now();
        try {
          return await fn(...args);
        } finally {
          add(performance.now() - startedAt);
        }
      };
    const timedLedger: SettlementLedger = {
      resolveMarketHolds: timed(realLedger.resolveMarketHolds, (ms) => {
        holdsMs += ms;
        holdPages += 1;
      }),
      submit: timed(realLedger.submit, (ms) => {
        payoutsMs += ms;
        payoutCalls += 1;
      }),
      balances: timed(realLedger.balances, (ms) => (otherLedgerMs += ms)),
      available: timed(realLedger.available, (ms) => (otherLedgerMs += ms)),
      existing: timed(realLedger.existing, (ms) => (otherLedgerMs += ms)),
      ensureStreamerRevenueAccount: timed(
        realLedger.ensureStreamerRevenueAccount,
        (ms) => (otherLedgerMs += ms),
      ),
    };
    // Time spent waiting for the next batch of bets: the bet engine's work, the transport and the
    // decoding (the settlement's own work on each batch is not in it).
    let streamMs = 0;
    let streamBatches = 0;
    const betSource = betSourceFromClient(createClient(BetEngineInternalService, fakeBetEngine()));
    const bets: BetSource = {
      async *list(market, afterBetId) {
        const batches = betSource.list(market, afterBetId)[Symbol.asyncIterator]();
        for (;;) {
          const startedAt = performance.now();
          const next = await batches.next();
          streamMs += performance.now() - startedAt;
          if (next.done === true) return;
          streamBatches += 1;
          yield next.value;
        }
      },
    };
    const runner = createSettlementRunner({
      store,
      clock,
      bets,
      ledger: timedLedger,
      logger,
      leaseMs: 3_600_000,
    });

    process.stderr.write('settling...\n');
    const startedAt = performance.now();
    const record = await runner.runOnce(marketId);
    const settleMs = performance.now() - startedAt;
    if (record?.status !== 'COMPLETED')
      throw new Error(`settlement ended ${record?.status}: ${record?.lastError}`);
    const escrow = await ledgerStore.lookupAccounts([`market:${marketId}:escrow`]);
    const e = escrow[0]!.balance;
    if (e.creditsPosted !== e.debitsPosted || e.creditsPending !== 0n)
      throw new Error('escrow is not zero after settlement');
    const ledgerMs = holdsMs + payoutsMs + otherLedgerMs;
    process.stderr.write(
      `settled ${BETS} bets / ${record.figures.payoutCount} users in ${Math.round(settleMs)} ms: ` +
        `hold resolution ${Math.round(holdsMs)} ms in ${holdPages} ResolveMarketHolds pages, ` +
        `payouts ${Math.round(payoutsMs)} ms in ${payoutCalls} SubmitTransfers calls, ` +
        `other ledger reads ${Math.round(otherLedgerMs)} ms; ` +
        `settlement's own ${Math.round(settleMs - ledgerMs)} ms, of which waiting for bets ` +
        `(ListMarketBets: bet engine, transport, decoding) ${Math.round(streamMs)} ms in ${streamBatches} batches\n`,
    );

    process.stderr.write(
      `store time: ${[...storeMs].map(([name, ms]) => `${name} ${Math.round(ms)} ms`).join(', ')}\n`,
    );
    const copyMs = await copyBaselineMs(database.url);
    process.stderr.write(`COPY of ${BETS} rows: ${Math.round(copyMs)} ms\n`);
    const perSecond = (ms: number): number => (BETS * 1000) / ms;
    printResults('settle', [
      compare(
        `settle ${BETS} bets end to end (bets/s; ratio = COPY time / settle time)`,
        perSecond(settleMs),
        'bets/s',
        perSecond(copyMs),
        0.5,
      ),
      compare(
        `settle ${BETS} bets without the time inside the ledger (bets/s vs COPY)`,
        perSecond(settleMs - ledgerMs),
        'bets/s',
        perSecond(copyMs),
        0.5,
      ),
    ]);
  } finally {
    await sql.close();
    await database.drop();
  }
}

await main();
