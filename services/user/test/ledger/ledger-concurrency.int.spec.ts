/**
 * Many parallel clients hammering a few accounts on real PostgreSQL: transfers between four
 * wallets, holds into one escrow that others post or void, an expiry sweeper racing them, the same
 * commands submitted twice at once, and payouts racing to drain a constrained escrow. At the end:
 * debits equal credits, no constrained account below zero, every account's totals equal its
 * transfers (no lost update), every id committed once with the content of its OK result, and the
 * escrow paid out exactly what it held (no double spend).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresSql } from '@streambet/platform/sql/postgres';
import type { Sql } from '@streambet/platform/sql/types';
import { realServers } from '@streambet/testkit/env';
import { POSTGRES_SKIP_REASON, sqlTargets, type SqlTestUrl } from '@streambet/testkit/sql';
import {
  TransferKind,
  TransferResultCode,
  type TransferCommand,
  type TransferOutcome,
} from '../../src/ledger/domain/index.js';
import type { LedgerStore } from '../../src/ledger/store/index.js';
import {
  command,
  escrow,
  expectInvariants,
  house,
  manualClock,
  openLedger,
  wallet,
} from './ledger-fixtures.js';

const CLIENTS = 20;
const ROUNDS = 25;
const postgres = sqlTargets().find((target) => target.name === 'postgres');

/** Small deterministic PRNG (mulberry32) so a failing interleaving's inputs are reproducible. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.skipIf(postgres === undefined)(
  `ledger under ${CLIENTS} concurrent clients on real PostgreSQL${postgres === undefined ? ` (${POSTGRES_SKIP_REASON})` : ''}`,
  () => {
    let database: SqlTestUrl;
    let sql: Sql;
    let store: LedgerStore;
    const clock = manualClock();
    const wallets = [1, 2, 3, 4].map((n) => wallet(n).accountId);
    const market = escrow(1).accountId;
    const submitted: Array<{ commands: TransferCommand[]; results: TransferOutcome[] }> = [];

    beforeAll(async () => {
      database = await postgres!.createUrl();
      sql = createPostgresSql({
        connectionString: database.url,
        maxConnections: CLIENTS + 2,
        applicationName: 'ledger-concurrency',
      });
      store = await openLedger(sql, { clock });
      await store.createAccounts([house(), escrow(1), ...[1, 2, 3, 4].map((n) => wallet(n))]);
      await store.submitTransfers(
        wallets.map((id) =>
          command({
            transferId: `fund:${id}`,
            debitAccountId: house().accountId,
            creditAccountId: id,
            amountMinor: 1_000n,
          }),
        ),
      );
    });
    afterAll(async () => {
      await sql?.close();
      await database?.dispose();
    });

    async function submit(commands: TransferCommand[]): Promise<TransferOutcome[]> {
      const results = await store.submitTransfers(commands);
      submitted.push({ commands, results });
      return results;
    }

    it('keeps every invariant while clients race on the same wallets, holds and ids', async () => {
      expect(realServers.postgresUrl).not.toBe('');
      let sweeping = true;
      const sweeper = (async () => {
        await Promise.resolve();
        while (sweeping) {
          clock.advance(250);
          await store.expirePendingTransfers(clock.now());
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();

      const clients = Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          const next = random(client + 1);
          const pick = () => wallets[Math.floor(next() * wallets.length)]!;
          const myHolds: string[] = [];
          for (let round = 0; round < ROUNDS; round += 1) {
            const id = (kind: string) => `c${client}:${round}:${kind}`;
            const from = pick();
            let to = pick();
            if (to === from) to = wallets[(wallets.indexOf(from) + 1) % wallets.length]!;
            const roll = next();
            if (roll < 0.35) {
              // A batch of transfers among the four wallets, some too large to fit.
              await submit(
                [0, 1, 2].map((k) =>
                  command({
                    transferId: id(`t${k}`),
                    debitAccountId: k === 1 ? to : from,
                    creditAccountId: k === 1 ? from : to,
                    amountMinor: BigInt(1 + Math.floor(next() * 120)),
                  }),
                ),
              );
            } else if (roll < 0.6) {
              const holdId = id('hold');
              const [result] = await submit([
                command({
                  transferId: holdId,
                  kind: TransferKind.PENDING,
                  debitAccountId: from,
                  creditAccountId: market,
                  amountMinor: BigInt(1 + Math.floor(next() * 80)),
                  timeoutSeconds: next() < 0.5 ? 1n : 0n,
                }),
              ]);
              if (result?.code === TransferResultCode.OK) myHolds.push(holdId);
            } else if (roll < 0.8 && myHolds.length > 0) {
              // Post or void someone's hold; two clients may pick the same one.
              const holdId = myHolds.shift()!;
              const post = next() < 0.5;
              await submit([
                command({
                  transferId: id('resolve'),
                  kind: post ? TransferKind.POST_PENDING : TransferKind.VOID_PENDING,
                  pendingId: holdId,
                  amountMinor: post ? 1n : 0n,
                }),
              ]);
            } else {
              // The same command sent twice at once (a client retrying after a timeout).
              const same = [
                command({
                  transferId: id('dup'),
                  debitAccountId: from,
                  creditAccountId: to,
                  amountMinor: 7n,
                  linked: true,
                }),
                command({
                  transferId: id('dup2'),
                  debitAccountId: to,
                  creditAccountId: from,
                  amountMinor: 3n,
                }),
              ];
              // Each copy either commits (OK once, ALREADY_EXISTS_SAME for the other) or fails on
              // the balance it saw; it is never refused as a different command.
              const both = (await Promise.all([submit(same), submit(same)])).flat();
              expect(
                both.filter((r) => r.code === TransferResultCode.ID_REUSED_DIFFERENT_CONTENT),
              ).toEqual([]);
              expect(
                both.filter((r) => r.code === TransferResultCode.OK).length,
              ).toBeLessThanOrEqual(2);
            }
          }
        }),
      );
      try {
        await clients;
      } finally {
        sweeping = false;
        await sweeper;
      }

      await expectInvariants(sql);
      // Every OK result is in the table with exactly that content; every refusal left nothing behind.
      const okIds = new Map<string, bigint>();
      for (const { results } of submitted) {
        for (const result of results) {
          if (result.code === TransferResultCode.OK) {
            expect(
              okIds.has(result.transferId),
              `${result.transferId} committed twice: ${JSON.stringify(results.map((r) => [r.transferId, r.code]))}`,
            ).toBe(false);
            okIds.set(result.transferId, result.transfer!.sequence);
          }
        }
      }
      const stored = await sql.query<{ id: string; seq: bigint }>(
        `SELECT id, seq FROM ledger_transfers WHERE id LIKE 'c%'`,
      );
      expect(new Map(stored.rows.map((row) => [row.id, row.seq]))).toEqual(okIds);
    });

    it('never pays out of a constrained escrow more than it holds, under racing payouts', async () => {
      const payoutEscrow = escrow(2);
      await store.createAccounts([payoutEscrow]);
      await store.submitTransfers([
        command({
          transferId: 'escrow:fund',
          debitAccountId: house().accountId,
          creditAccountId: payoutEscrow.accountId,
          amountMinor: 500n,
        }),
      ]);
      const results = await Promise.all(
        Array.from({ length: CLIENTS * 2 }, (_, n) =>
          store.submitTransfers([
            command({
              transferId: `payout:${n}`,
              debitAccountId: payoutEscrow.accountId,
              creditAccountId: wallets[n % wallets.length]!,
              amountMinor: 30n,
            }),
          ]),
        ),
      );
      const paid = results.filter(([r]) => r?.code === TransferResultCode.OK).length;
      expect(paid).toBe(Math.floor(500 / 30));
      expect(
        results.filter(([r]) => r?.code === TransferResultCode.EXCEEDS_AVAILABLE),
      ).toHaveLength(CLIENTS * 2 - paid);
      const [account] = await store.lookupAccounts([payoutEscrow.accountId]);
      expect(account!.balance.creditsPosted - account!.balance.debitsPosted).toBe(
        500n - 30n * BigInt(paid),
      );
      await expectInvariants(sql);
    });
  },
);
