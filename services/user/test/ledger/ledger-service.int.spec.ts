/**
 * LedgerInternalService through the platform's server interceptors (auth, error mapping) on an
 * in-memory transport, per SQL target: request limits and malformed requests give
 * INVALID_ARGUMENT naming the field, a missing account NOT_FOUND; bad commands (zero or negative
 * amounts, unknown accounts, currency mismatch, malformed ids) come back as per-command result
 * codes as the contract requires, and move nothing; user tokens are refused on every method.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type Client,
} from '@connectrpc/connect';
import { SignJWT, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authInterceptor } from '@streambet/platform/auth/auth-interceptor';
import {
  createServiceTokenIssuer,
  createServiceTokenVerifier,
  createUserTokenVerifier,
  generateServiceKeys,
  generateSigningKeyPair,
  type SigningKeyPair,
} from '@streambet/platform/auth/tokens';
import { createLogger } from '@streambet/platform/log/logger';
import { createMetricsRegistry } from '@streambet/platform/obs/metrics';
import { createServerInterceptors } from '@streambet/platform/rpc/interceptors';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import {
  CreateAccountResultCode,
  HoldAction,
  LedgerInternalService,
  TransferCommandSchema,
  TransferResultCode,
  type TransferCommand,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind,
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { ledgerPolicy } from '../../src/ledger/policy.js';
import { createLedgerInternalService } from '../../src/ledger/routes.js';
import {
  allBalances,
  expectInvariants,
  house,
  openLedger,
  ulid,
  wallet,
} from './ledger-fixtures.js';

const issuer = 'https://user.streambet.test';
const audience = 'streambet-api';

async function failure(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    return { code: connectError.code, message: connectError.rawMessage };
  }
  throw new Error('call unexpectedly succeeded');
}

function transfer(partial: MessageInitShape<typeof TransferCommandSchema>): TransferCommand {
  return create(TransferCommandSchema, {
    kind: TransferKind.SINGLE_PHASE,
    currency: 'BRL',
    code: TransferCode.ADJUSTMENT,
    memo: 'rpc test',
    ...partial,
  });
}

for (const target of sqlTargets()) {
  describe(`LedgerInternalService over RPC on ${target.name}`, () => {
    let db: SqlTestDatabase;
    let userKeys: SigningKeyPair;
    let client: Client<typeof LedgerInternalService>;
    let serviceHeaders: { authorization: string };
    let headersOf: (service: string) => Promise<{ authorization: string }>;
    const alice = wallet(1);
    const bob = wallet(2);
    const pts = wallet(3, 'PTS');

    async function userToken(role: string): Promise<string> {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ role })
        .setProtectedHeader({ alg: 'EdDSA', kid: userKeys.privateJwk.kid })
        .setSubject(ulid(1))
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(now - 10)
        .setExpirationTime(now + 300)
        .sign(await importJWK(userKeys.privateJwk, 'EdDSA'));
    }

    beforeAll(async () => {
      db = await target.create();
      const store = await openLedger(db.sql);
      userKeys = await generateSigningKeyPair('user-key');
      const serviceKeys = await generateServiceKeys(['settlement', 'bet-engine', 'realtime']);
      const transport = createRouterTransport(
        (router) => {
          router.service(LedgerInternalService, createLedgerInternalService({ store }));
        },
        {
          router: {
            interceptors: createServerInterceptors({
              logger: createLogger({ service: 'user', level: 'silent' }),
              registry: createMetricsRegistry({ service: 'user', collectDefaultMetrics: false }),
              auth: authInterceptor({
                verifyUserToken: createUserTokenVerifier({
                  jwks: userKeys.publicJwks,
                  issuer,
                  audience,
                }),
                verifyServiceToken: createServiceTokenVerifier({
                  publicJwks: serviceKeys.publicJwks,
                }),
                policy: ledgerPolicy,
              }),
            }),
          },
        },
      );
      client = createClient(LedgerInternalService, transport);
      headersOf = async (service) => {
        const token = await createServiceTokenIssuer({
          privateJwk: serviceKeys.privateJwks[service]!,
          service,
        })();
        return { authorization: `Bearer ${token}` };
      };
      // Settlement may call every ledger method.
      serviceHeaders = await headersOf('settlement');
      const created = await client.createAccounts(
        { accounts: [house(), house('PTS'), alice, bob, pts].map((a) => ({ ...a, kind: a.kind })) },
        { headers: serviceHeaders },
      );
      expect(created.results.map((r) => r.code)).toEqual(Array(5).fill(CreateAccountResultCode.OK));
      const funded = await client.submitTransfers(
        {
          commands: [
            transfer({
              transferId: 'fund:alice',
              debitAccountId: house().accountId,
              creditAccountId: alice.accountId,
              amountMinor: 1_000n,
            }),
          ],
        },
        { headers: serviceHeaders },
      );
      expect(funded.results[0]?.code).toBe(TransferResultCode.OK);
    });
    afterAll(async () => {
      await expectInvariants(db.sql);
      await db.dispose();
    });

    it('serves balances, history pages and totals to a service', async () => {
      const moved = await client.submitTransfers(
        {
          commands: [1n, 2n, 3n].map((amount) =>
            transfer({
              transferId: `pay:${amount}`,
              debitAccountId: alice.accountId,
              creditAccountId: bob.accountId,
              amountMinor: amount,
            }),
          ),
        },
        { headers: serviceHeaders },
      );
      expect(moved.results.map((r) => r.code)).toEqual([1, 1, 1].map(() => TransferResultCode.OK));
      const balances = await client.getAccountBalances(
        { accountIds: [alice.accountId, 'wallet:nobody:BRL'] },
        { headers: serviceHeaders },
      );
      expect(balances.balances).toHaveLength(1);
      expect(balances.balances[0]).toMatchObject({
        availableMinor: 994n,
        postedMinor: 994n,
        debitsPostedMinor: 6n,
        creditsPostedMinor: 1_000n,
      });
      const byOwner = await client.getAccountBalances(
        { ownerId: alice.ownerId },
        { headers: serviceHeaders },
      );
      expect(byOwner.balances.map((b) => b.accountId)).toEqual([alice.accountId]);

      const first = await client.listAccountTransfers(
        { accountId: bob.accountId, newestFirst: true, page: { pageSize: 2 } },
        { headers: serviceHeaders },
      );
      expect(first.transfers.map((t) => t.transferId)).toEqual(['pay:3', 'pay:2']);
      const second = await client.listAccountTransfers(
        {
          accountId: bob.accountId,
          newestFirst: true,
          page: { pageSize: 2, pageToken: first.page!.nextPageToken },
        },
        { headers: serviceHeaders },
      );
      expect(second.transfers.map((t) => t.transferId)).toEqual(['pay:1']);
      expect(second.page?.nextPageToken).toBe('');

      const lookedUp = await client.lookupTransfers(
        { transferIds: ['pay:2', 'missing'] },
        { headers: serviceHeaders },
      );
      expect(lookedUp.transfers.map((t) => [t.transferId, t.amountMinor, t.sequence > 0n])).toEqual(
        [['pay:2', 2n, true]],
      );
      const totals = await client.getLedgerTotals({}, { headers: serviceHeaders });
      expect(totals.totals.map((t) => t.currency)).toEqual(['BRL', 'PTS']);
      for (const t of totals.totals) expect(t.debitsPostedMinor).toBe(t.creditsPostedMinor);
    });

    it('answers bad commands with per-command result codes and moves nothing', async () => {
      const before = await allBalances(db.sql);
      const response = await client.submitTransfers(
        {
          commands: [
            transfer({
              transferId: 'bad:zero',
              debitAccountId: alice.accountId,
              creditAccountId: bob.accountId,
              amountMinor: 0n,
            }),
            transfer({
              transferId: 'bad:negative',
              debitAccountId: alice.accountId,
              creditAccountId: bob.accountId,
              amountMinor: -5n,
            }),
            transfer({
              transferId: 'bad:unknown',
              debitAccountId: alice.accountId,
              creditAccountId: 'wallet:nobody:BRL',
              amountMinor: 5n,
            }),
            transfer({
              transferId: 'bad:currency',
              debitAccountId: alice.accountId,
              creditAccountId: pts.accountId,
              amountMinor: 5n,
            }),
            transfer({
              transferId: 'bad id with spaces',
              debitAccountId: alice.accountId,
              creditAccountId: bob.accountId,
              amountMinor: 5n,
            }),
            transfer({
              transferId: 'bad:market',
              debitAccountId: alice.accountId,
              creditAccountId: bob.accountId,
              amountMinor: 5n,
              code: TransferCode.BET_STAKE,
              marketId: 'market-1',
              betId: ulid(5),
            }),
            transfer({
              transferId: 'bad:overdraw',
              debitAccountId: bob.accountId,
              creditAccountId: alice.accountId,
              amountMinor: 1_000_000n,
            }),
            transfer({
              transferId: 'bad:post',
              kind: TransferKind.POST_PENDING,
              pendingId: 'no-such-hold',
              amountMinor: 1n,
            }),
          ],
        },
        { headers: serviceHeaders },
      );
      expect(response.results.map((r) => r.code)).toEqual([
        TransferResultCode.INVALID_AMOUNT,
        TransferResultCode.INVALID_AMOUNT,
        TransferResultCode.ACCOUNT_NOT_FOUND,
        TransferResultCode.CURRENCY_MISMATCH,
        TransferResultCode.INVALID_TRANSFER_ID,
        TransferResultCode.INVALID_FIELD,
        TransferResultCode.EXCEEDS_AVAILABLE,
        TransferResultCode.PENDING_NOT_FOUND,
      ]);
      for (const result of response.results) {
        expect(result.transfer).toBeUndefined();
        expect(result.detail.length).toBeGreaterThan(10);
      }
      expect(response.results[2]?.detail).toMatch(/wallet:nobody:BRL does not exist/);
      expect(await allBalances(db.sql)).toEqual(before);
      const found = await client.lookupTransfers(
        { transferIds: response.results.map((r) => r.transferId) },
        { headers: serviceHeaders },
      );
      expect(found.transfers).toEqual([]);
    });

    it('refuses malformed requests with INVALID_ARGUMENT naming the field, and unknown accounts with NOT_FOUND', async () => {
      const before = await allBalances(db.sql);
      const oversized = Array.from({ length: 1001 }, (_, n) =>
        transfer({
          transferId: `big:${n}`,
          debitAccountId: alice.accountId,
          creditAccountId: bob.accountId,
          amountMinor: 1n,
        }),
      );
      expect(
        await failure(client.submitTransfers({ commands: oversized }, { headers: serviceHeaders })),
      ).toEqual({
        code: Code.InvalidArgument,
        message:
          'SubmitTransfers request is invalid: commands: must hold 1–1000 commands (got 1001)',
      });
      expect(
        (await failure(client.submitTransfers({ commands: [] }, { headers: serviceHeaders }))).code,
      ).toBe(Code.InvalidArgument);
      expect(
        (await failure(client.createAccounts({ accounts: [] }, { headers: serviceHeaders })))
          .message,
      ).toMatch(/accounts: must hold 1–1000/);
      expect(
        (await failure(client.lookupAccounts({ accountIds: [] }, { headers: serviceHeaders })))
          .code,
      ).toBe(Code.InvalidArgument);
      expect(
        (await failure(client.lookupTransfers({ transferIds: [] }, { headers: serviceHeaders })))
          .code,
      ).toBe(Code.InvalidArgument);
      expect(
        (await failure(client.getAccountBalances({}, { headers: serviceHeaders }))).message,
      ).toMatch(/exactly one of account_ids and owner_id/);
      expect(
        (
          await failure(
            client.getAccountBalances(
              { accountIds: [alice.accountId], ownerId: alice.ownerId },
              { headers: serviceHeaders },
            ),
          )
        ).code,
      ).toBe(Code.InvalidArgument);
      expect(
        (
          await failure(
            client.getAccountBalances({ ownerId: 'someone' }, { headers: serviceHeaders }),
          )
        ).message,
      ).toMatch(/owner_id: must be a user or market id/);
      expect(
        await failure(
          client.listAccountTransfers(
            { accountId: 'wallet:nobody:BRL' },
            { headers: serviceHeaders },
          ),
        ),
      ).toEqual({
        code: Code.NotFound,
        message: 'account wallet:nobody:BRL does not exist',
      });
      expect(
        (
          await failure(
            client.listAccountTransfers(
              { accountId: alice.accountId, page: { pageToken: 'garbage' } },
              { headers: serviceHeaders },
            ),
          )
        ).message,
      ).toMatch(/page.page_token/);
      expect(
        (
          await failure(
            client.listAccountTransfers(
              { accountId: alice.accountId, fromMs: 10n, toMs: 5n },
              { headers: serviceHeaders },
            ),
          )
        ).message,
      ).toMatch(/to_ms: must be after from_ms/);
      expect(
        (
          await failure(
            client.listAccountTransfers(
              { accountId: alice.accountId, page: { pageSize: 500 } },
              { headers: serviceHeaders },
            ),
          )
        ).code,
      ).toBe(Code.InvalidArgument);
      expect(
        (await failure(client.getLedgerTotals({ currency: 'euro' }, { headers: serviceHeaders })))
          .code,
      ).toBe(Code.InvalidArgument);
      for (const bad of [
        { marketId: 'not-a-ulid', action: HoldAction.VOID },
        { marketId: ulid(1_000_001), action: HoldAction.UNSPECIFIED },
        { marketId: ulid(1_000_001), action: HoldAction.VOID, maxHolds: 10_001 },
        { marketId: ulid(1_000_001), action: HoldAction.VOID, settlementId: 'x' },
      ]) {
        expect(
          (await failure(client.resolveMarketHolds(bad, { headers: serviceHeaders }))).code,
        ).toBe(Code.InvalidArgument);
      }
      // A market without open holds: nothing to do, nothing moved.
      const none = await client.resolveMarketHolds(
        { marketId: ulid(1_000_777), action: HoldAction.POST_IN_FULL },
        { headers: serviceHeaders },
      );
      expect(none).toMatchObject({ resolvedCount: 0, failedCount: 0, nextAfterHoldId: '' });
      const created = await client.createAccounts(
        {
          accounts: [
            {
              accountId: 'wallet:x',
              kind: AccountKind.USER_WALLET,
              currency: 'BRL',
              ownerId: ulid(9),
            },
            { ...wallet(10, 'EUR'), kind: AccountKind.USER_WALLET },
          ],
        },
        { headers: serviceHeaders },
      );
      expect(created.results.map((r) => r.code)).toEqual([
        CreateAccountResultCode.INVALID_ID,
        CreateAccountResultCode.UNSUPPORTED_CURRENCY,
      ]);
      expect(await allBalances(db.sql)).toEqual(before);
    });

    it('resolves a market and pays it out over RPC, mapping refusals to their codes', async () => {
      const marketId = ulid(1_000_077);
      const escrowId = `market:${marketId}:escrow`;
      const settlementId = ulid(8801);
      await client.createAccounts(
        {
          accounts: [
            {
              accountId: escrowId,
              kind: AccountKind.MARKET_ESCROW,
              currency: 'BRL',
              ownerId: marketId,
            },
          ],
        },
        { headers: serviceHeaders },
      );
      const held = await client.submitTransfers(
        {
          commands: [
            transfer({
              transferId: 'rpc:stake:1',
              kind: TransferKind.PENDING,
              debitAccountId: alice.accountId,
              creditAccountId: escrowId,
              amountMinor: 70n,
              code: TransferCode.BET_STAKE,
              marketId,
              betId: ulid(8802),
              memo: '',
            }),
          ],
        },
        { headers: serviceHeaders },
      );
      expect(held.results[0]?.code).toBe(TransferResultCode.OK);
      const invalid = await failure(
        client.resolveMarket(
          { marketId: 'nope', settlementId: '', action: HoldAction.UNSPECIFIED },
          { headers: serviceHeaders },
        ),
      );
      expect(invalid.code).toBe(Code.InvalidArgument);
      const mismatch = await failure(
        client.resolveMarket(
          { marketId, settlementId, action: HoldAction.POST_IN_FULL, expectedOpenAmountMinor: 71n },
          { headers: serviceHeaders },
        ),
      );
      expect(mismatch.code).toBe(Code.FailedPrecondition);
      expect(mismatch.message).toMatch(/has 70 in open holds to resolve, not the expected 71/);
      const resolved = await client.resolveMarket(
        { marketId, settlementId, action: HoldAction.POST_IN_FULL, expectedOpenAmountMinor: 70n },
        { headers: serviceHeaders },
      );
      expect(resolved).toMatchObject({
        resolvedCount: 1,
        resolvedAmountMinor: 70n,
        replayed: false,
      });
      expect(resolved.escrow?.creditsPostedMinor).toBe(70n);
      const replay = await client.resolveMarket(
        { marketId, settlementId, action: HoldAction.POST_IN_FULL, expectedOpenAmountMinor: 70n },
        { headers: serviceHeaders },
      );
      expect(replay).toMatchObject({ replayed: true, sequence: resolved.sequence });
      const other = await failure(
        client.resolveMarket(
          { marketId, settlementId: ulid(8803), action: HoldAction.VOID },
          { headers: serviceHeaders },
        ),
      );
      expect(other.code).toBe(Code.AlreadyExists);
      const badPage = await failure(
        client.creditMarketPayouts(
          {
            marketId,
            settlementId,
            currency: 'BRL',
            entries: [
              { accountId: bob.accountId, amountMinor: 1n, code: TransferCode.PAYOUT },
              { accountId: bob.accountId, amountMinor: 1n, code: TransferCode.DEPOSIT },
              { accountId: escrowId, amountMinor: 0n, code: TransferCode.PAYOUT },
            ],
          },
          { headers: serviceHeaders },
        ),
      );
      expect(badPage.code).toBe(Code.InvalidArgument);
      const tooMuch = await failure(
        client.creditMarketPayouts(
          {
            marketId,
            settlementId,
            currency: 'BRL',
            entries: [{ accountId: bob.accountId, amountMinor: 71n, code: TransferCode.PAYOUT }],
          },
          { headers: serviceHeaders },
        ),
      );
      expect(tooMuch.code).toBe(Code.FailedPrecondition);
      const paid = await client.creditMarketPayouts(
        {
          marketId,
          settlementId,
          currency: 'BRL',
          entries: [{ accountId: bob.accountId, amountMinor: 70n, code: TransferCode.PAYOUT }],
        },
        { headers: serviceHeaders },
      );
      expect(paid.results.map((r) => [r.transferId, r.code])).toEqual([
        [`payout:${settlementId}:${bob.accountId}`, TransferResultCode.OK],
      ]);
      expect(paid.escrow?.availableMinor).toBe(0n);
      const late = await client.submitTransfers(
        {
          commands: [
            transfer({
              transferId: 'rpc:stake:2',
              kind: TransferKind.PENDING,
              debitAccountId: alice.accountId,
              creditAccountId: escrowId,
              amountMinor: 1n,
              code: TransferCode.BET_STAKE,
              marketId,
              betId: ulid(8804),
              memo: '',
            }),
          ],
        },
        { headers: serviceHeaders },
      );
      expect(late.results[0]?.code).toBe(TransferResultCode.MARKET_RESOLVED);
      await expectInvariants(db.sql);
    });

    it('refuses user tokens on every method and calls without a credential', async () => {
      const calls: Array<(headers: Record<string, string>) => Promise<unknown>> = [
        (headers) =>
          client.createAccounts(
            { accounts: [{ ...wallet(20), kind: AccountKind.USER_WALLET }] },
            { headers },
          ),
        (headers) => client.lookupAccounts({ accountIds: [alice.accountId] }, { headers }),
        (headers) =>
          client.submitTransfers(
            {
              commands: [
                transfer({
                  transferId: 'user:steal',
                  debitAccountId: alice.accountId,
                  creditAccountId: bob.accountId,
                  amountMinor: 1n,
                }),
              ],
            },
            { headers },
          ),
        (headers) => client.lookupTransfers({ transferIds: ['pay:1'] }, { headers }),
        (headers) => client.getAccountBalances({ accountIds: [alice.accountId] }, { headers }),
        (headers) => client.listAccountTransfers({ accountId: alice.accountId }, { headers }),
        (headers) => client.getLedgerTotals({}, { headers }),
        (headers) =>
          client.resolveMarketHolds(
            { marketId: ulid(1_000_001), action: HoldAction.VOID },
            { headers },
          ),
        (headers) =>
          client.resolveMarket(
            { marketId: ulid(1_000_001), settlementId: ulid(77), action: HoldAction.VOID },
            { headers },
          ),
        (headers) =>
          client.creditMarketPayouts(
            {
              marketId: ulid(1_000_001),
              settlementId: ulid(77),
              currency: 'PTS',
              entries: [{ accountId: alice.accountId, amountMinor: 1n, code: 4 }],
            },
            { headers },
          ),
      ];
      expect(calls).toHaveLength(LedgerInternalService.methods.length);
      for (const role of ['viewer', 'streamer', 'admin']) {
        const headers = { authorization: `Bearer ${await userToken(role)}` };
        for (const call of calls) {
          const refused = await failure(call(headers));
          expect(refused.code).toBe(Code.PermissionDenied);
          expect(refused.message).toMatch(/internal: only services may call it/);
        }
      }
      for (const call of calls) expect((await failure(call({}))).code).toBe(Code.Unauthenticated);
      const [stolen] = (
        await client.lookupTransfers({ transferIds: ['user:steal'] }, { headers: serviceHeaders })
      ).transfers;
      expect(stolen).toBeUndefined();
    });

    it('moves money only for the services that move money: realtime is refused, bet-engine is not', async () => {
      const move = (transferId: string) => ({
        commands: [
          transfer({
            transferId,
            debitAccountId: alice.accountId,
            creditAccountId: bob.accountId,
            amountMinor: 1n,
          }),
        ],
      });
      const refused = await failure(
        client.submitTransfers(move('realtime:steal'), { headers: await headersOf('realtime') }),
      );
      expect(refused).toEqual({
        code: Code.PermissionDenied,
        message:
          'method streambet.user.v1.LedgerInternalService/SubmitTransfers may be called only by service bet-engine or settlement or payment; caller is service realtime',
      });
      const held = await failure(
        client.resolveMarketHolds(
          { marketId: ulid(1_000_002), action: HoldAction.VOID },
          { headers: await headersOf('bet-engine') },
        ),
      );
      expect(held.code).toBe(Code.PermissionDenied);
      const { transfers } = await client.lookupTransfers(
        { transferIds: ['realtime:steal'] },
        { headers: serviceHeaders },
      );
      expect(transfers).toHaveLength(0);

      const allowed = await client.submitTransfers(move('bet-engine:move'), {
        headers: await headersOf('bet-engine'),
      });
      expect(allowed.results.map((r) => r.code)).toEqual([TransferResultCode.OK]);
    });
  });
}
