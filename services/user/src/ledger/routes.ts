/**
 * LedgerInternalService handlers (ledger.proto): request limits checked at the edge, proto ↔ domain
 * translation (proto-codec.ts), the store does the rest. Who may call: policy.ts.
 */
import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { ValidationError, type FieldViolation } from '@streambet/platform/errors/domain-errors';
import {
  HoldAction,
  LedgerTotalsSchema,
  type LedgerInternalService,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind,
  CURRENCY,
  DEFAULT_HOLD_PAGE,
  MARKET_PAYOUT_CODES,
  MAX_BATCH,
  MAX_HOLD_PAGE,
  MAX_PAYOUT_PAGE,
  TransferCode,
  ULID,
  canonicalAccountId,
  isTransferCode,
} from './domain/index.js';
import {
  accountToProto,
  balanceToProto,
  commandFromProto,
  transferToProto,
} from './proto-codec.js';
import type { LedgerStore } from './store/index.js';

/** Dependencies of {@link createLedgerInternalService}. */
export interface LedgerServiceDeps {
  readonly store: LedgerStore;
}

/** Default and largest page of ListAccountTransfers (common.v1.PageRequest). */
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;
const PAGE_TOKEN_PREFIX = 'ledger-seq:';

function invalid(method: string, violations: FieldViolation[]): never {
  throw new ValidationError(`${method} request is invalid`, violations);
}

function checkCount(method: string, field: string, count: number, what: string): void {
  if (count < 1 || count > MAX_BATCH) {
    invalid(method, [{ field, description: `must hold 1–${MAX_BATCH} ${what} (got ${count})` }]);
  }
}

/** Cursor of ListAccountTransfers: the last sequence returned, opaque to clients. */
function encodePageToken(sequence: bigint): string {
  return Buffer.from(`${PAGE_TOKEN_PREFIX}${sequence}`, 'utf8').toString('base64url');
}

function decodePageToken(token: string): bigint | undefined {
  if (token === '') return undefined;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const digits = text.startsWith(PAGE_TOKEN_PREFIX) ? text.slice(PAGE_TOKEN_PREFIX.length) : '';
  if (!/^[1-9][0-9]{0,18}$/.test(digits)) {
    invalid('ListAccountTransfers', [
      {
        field: 'page.page_token',
        description: 'is not a token from a previous response; omit it for the first page',
      },
    ]);
  }
  return BigInt(digits);
}

/**
 * LedgerInternalService over a {@link LedgerStore}: request limits checked at the edge
 * (INVALID_ARGUMENT naming the field), proto ↔ domain translation, nothing else. Per-command and
 * per-account failures are result codes, as the contract says, never RPC errors.
 */
export function createLedgerInternalService(
  deps: LedgerServiceDeps,
): ServiceImpl<typeof LedgerInternalService> {
  const { store } = deps;
  return {
    async createAccounts(request) {
      checkCount('CreateAccounts', 'accounts', request.accounts.length, 'accounts');
      const outcomes = await store.createAccounts(
        request.accounts.map((account) => ({
          accountId: account.accountId,
          kind: account.kind,
          currency: account.currency,
          ownerId: account.ownerId,
        })),
      );
      return {
        results: outcomes.map((outcome) => ({
          accountId: outcome.accountId,
          code: outcome.code,
          ...(outcome.account === undefined ? {} : { account: accountToProto(outcome.account) }),
        })),
      };
    },

    async lookupAccounts(request) {
      checkCount('LookupAccounts', 'account_ids', request.accountIds.length, 'account ids');
      const accounts = await store.lookupAccounts(request.accountIds);
      return { accounts: accounts.map(accountToProto) };
    },

    async submitTransfers(request) {
      checkCount('SubmitTransfers', 'commands', request.commands.length, 'commands');
      const outcomes = await store.submitTransfers(request.commands.map(commandFromProto));
      return {
        results: outcomes.map((outcome) => ({
          transferId: outcome.transferId,
          code: outcome.code,
          detail: outcome.detail,
          ...(outcome.transfer === undefined
            ? {}
            : { transfer: transferToProto(outcome.transfer) }),
        })),
      };
    },

    async lookupTransfers(request) {
      checkCount('LookupTransfers', 'transfer_ids', request.transferIds.length, 'transfer ids');
      const transfers = await store.lookupTransfers(request.transferIds);
      return { transfers: transfers.map(transferToProto) };
    },

    async getAccountBalances(request) {
      const byIds = request.accountIds.length > 0;
      const byOwner = request.ownerId !== '';
      if (byIds === byOwner) {
        invalid('GetAccountBalances', [
          { field: 'account_ids', description: 'set exactly one of account_ids and owner_id' },
        ]);
      }
      if (byIds) {
        checkCount('GetAccountBalances', 'account_ids', request.accountIds.length, 'account ids');
        const accounts = await store.lookupAccounts(request.accountIds);
        return { balances: accounts.map(balanceToProto) };
      }
      if (!ULID.test(request.ownerId)) {
        invalid('GetAccountBalances', [
          { field: 'owner_id', description: 'must be a user or market id (26-character ULID)' },
        ]);
      }
      const accounts = await store.accountsOfOwner(request.ownerId);
      return { balances: accounts.map(balanceToProto) };
    },

    async listAccountTransfers(request) {
      const violations: FieldViolation[] = [];
      if (request.accountId === '')
        violations.push({ field: 'account_id', description: 'is required' });
      const pageSize = request.page?.pageSize ?? 0;
      if (pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
        violations.push({
          field: 'page.page_size',
          description: `must be 0 (default ${DEFAULT_PAGE_SIZE}) to ${MAX_PAGE_SIZE}`,
        });
      }
      if (request.fromMs < 0n)
        violations.push({ field: 'from_ms', description: 'must be 0 or a positive instant' });
      if (request.toMs < 0n)
        violations.push({ field: 'to_ms', description: 'must be 0 or a positive instant' });
      if (request.fromMs > 0n && request.toMs > 0n && request.toMs <= request.fromMs) {
        violations.push({ field: 'to_ms', description: 'must be after from_ms' });
      }
      const badCode = request.codes.find((code) => !isTransferCode(code));
      if (badCode !== undefined)
        violations.push({ field: 'codes', description: `contains an unknown code ${badCode}` });
      if (violations.length > 0) invalid('ListAccountTransfers', violations);
      const afterSequence = decodePageToken(request.page?.pageToken ?? '');
      const page = await store.listAccountTransfers({
        accountId: request.accountId,
        codes: request.codes.map((code) => code as number as TransferCode),
        fromMs: Number(request.fromMs),
        toMs: Number(request.toMs),
        newestFirst: request.newestFirst,
        limit: pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize,
        ...(afterSequence === undefined ? {} : { afterSequence }),
      });
      return {
        transfers: page.transfers.map(transferToProto),
        page: {
          nextPageToken:
            page.nextAfterSequence === undefined ? '' : encodePageToken(page.nextAfterSequence),
        },
      };
    },

    async resolveMarketHolds(request) {
      const violations: FieldViolation[] = [];
      if (!ULID.test(request.marketId))
        violations.push({
          field: 'market_id',
          description: 'must be a market id (26-character ULID)',
        });
      if (request.action !== HoldAction.POST_IN_FULL && request.action !== HoldAction.VOID)
        violations.push({ field: 'action', description: 'must be POST_IN_FULL or VOID' });
      if (request.settlementId !== '' && !ULID.test(request.settlementId))
        violations.push({ field: 'settlement_id', description: 'must be empty or a ULID' });
      const code = request.code as number;
      if (code !== 0 && !isTransferCode(code))
        violations.push({ field: 'code', description: `is an unknown code ${code}` });
      if (request.maxHolds > MAX_HOLD_PAGE)
        violations.push({
          field: 'max_holds',
          description: `must be 0 (default ${DEFAULT_HOLD_PAGE}) to ${MAX_HOLD_PAGE}`,
        });
      if (request.afterHoldId.length > 128)
        violations.push({
          field: 'after_hold_id',
          description: 'must be a hold id from a previous response',
        });
      if (violations.length > 0) invalid('ResolveMarketHolds', violations);
      const result = await store.resolveMarketHolds({
        marketId: request.marketId,
        action: request.action === HoldAction.VOID ? 'void' : 'post-in-full',
        settlementId: request.settlementId,
        code: code === 0 ? TransferCode.BET_STAKE : (code as TransferCode),
        afterHoldId: request.afterHoldId,
        limit: request.maxHolds === 0 ? DEFAULT_HOLD_PAGE : request.maxHolds,
      });
      return {
        resolvedCount: result.resolvedCount,
        resolvedAmountMinor: result.resolvedAmountMinor,
        expiredCount: result.expiredCount,
        alreadyResolvedCount: result.alreadyResolvedCount,
        failedCount: result.failures.length,
        failures: result.failures.slice(0, 100).map((failure) => ({
          transferId: failure.transferId,
          code: failure.code,
          detail: failure.detail,
        })),
        nextAfterHoldId: result.nextAfterHoldId,
      };
    },

    async resolveMarket(request) {
      const violations: FieldViolation[] = [];
      if (!ULID.test(request.marketId))
        violations.push({
          field: 'market_id',
          description: 'must be a market id (26-character ULID)',
        });
      if (!ULID.test(request.settlementId))
        violations.push({
          field: 'settlement_id',
          description: 'must be the settlement run id (26-character ULID)',
        });
      if (request.action !== HoldAction.POST_IN_FULL && request.action !== HoldAction.VOID)
        violations.push({ field: 'action', description: 'must be POST_IN_FULL or VOID' });
      const code = request.code as number;
      if (code !== 0 && !isTransferCode(code))
        violations.push({ field: 'code', description: `is an unknown code ${code}` });
      if (request.expectedOpenAmountMinor < 0n)
        violations.push({
          field: 'expected_open_amount_minor',
          description: 'must be 0 (no check) or the amount the resolution must move',
        });
      if (violations.length > 0) invalid('ResolveMarket', violations);
      const { resolution, replayed } = await store.resolveMarket({
        marketId: request.marketId,
        settlementId: request.settlementId,
        action: request.action === HoldAction.VOID ? 'void' : 'post-in-full',
        code: code === 0 ? TransferCode.BET_STAKE : (code as TransferCode),
        expectedOpenAmountMinor: request.expectedOpenAmountMinor,
      });
      return {
        resolvedCount: resolution.resolvedCount,
        resolvedAmountMinor: resolution.resolvedAmountMinor,
        expiredCount: resolution.expiredCount,
        expiredAmountMinor: resolution.expiredAmountMinor,
        accountCount: resolution.accountCount,
        sequence: resolution.sequence,
        resolvedAtMs: BigInt(resolution.resolvedAtMs),
        replayed,
        ...(resolution.escrow === undefined ? {} : { escrow: balanceToProto(resolution.escrow) }),
      };
    },

    async creditMarketPayouts(request) {
      const violations: FieldViolation[] = [];
      if (!ULID.test(request.marketId))
        violations.push({
          field: 'market_id',
          description: 'must be a market id (26-character ULID)',
        });
      if (!ULID.test(request.settlementId))
        violations.push({
          field: 'settlement_id',
          description: 'must be the settlement run id (26-character ULID)',
        });
      if (!CURRENCY.test(request.currency))
        violations.push({ field: 'currency', description: 'must be an ISO 4217 code or PTS' });
      const count = request.entries.length;
      if (count < 1 || count > MAX_PAYOUT_PAGE)
        violations.push({
          field: 'entries',
          description: `must hold 1–${MAX_PAYOUT_PAGE} entries (got ${count}); send larger payouts in pages`,
        });
      const escrowId = canonicalAccountId(AccountKind.MARKET_ESCROW, '', request.marketId);
      const seen = new Set<string>();
      request.entries.forEach((entry, index) => {
        if (violations.length >= 20) return;
        const field = `entries[${index}]`;
        if (entry.accountId === '' || entry.accountId.length > 94)
          violations.push({
            field: `${field}.account_id`,
            description: 'must be a canonical account id of 1–94 characters',
          });
        else if (entry.accountId === escrowId)
          violations.push({
            field: `${field}.account_id`,
            description: 'is the market escrow itself, which pays',
          });
        else if (seen.has(entry.accountId))
          violations.push({
            field: `${field}.account_id`,
            description: `repeats ${entry.accountId}: one entry per account and page`,
          });
        seen.add(entry.accountId);
        if (entry.amountMinor <= 0n)
          violations.push({ field: `${field}.amount_minor`, description: 'must be > 0' });
        if (!MARKET_PAYOUT_CODES.has(entry.code as number as TransferCode))
          violations.push({
            field: `${field}.code`,
            description: 'must be PAYOUT, COMMISSION, STREAMER_SHARE, BREAKAGE or REFUND',
          });
      });
      if (violations.length > 0) invalid('CreditMarketPayouts', violations);
      const result = await store.creditMarketPayouts({
        marketId: request.marketId,
        settlementId: request.settlementId,
        currency: request.currency,
        entries: request.entries.map((entry) => ({
          accountId: entry.accountId,
          amountMinor: entry.amountMinor,
          code: entry.code as number as TransferCode,
        })),
      });
      return {
        results: result.outcomes.map((outcome) => ({
          accountId: outcome.accountId,
          transferId: outcome.transferId,
          code: outcome.code,
          detail: outcome.detail,
          sequence: outcome.sequence,
        })),
        creditedCount: result.creditedCount,
        creditedAmountMinor: result.creditedAmountMinor,
        escrow: balanceToProto(result.escrow),
      };
    },

    async getLedgerTotals(request) {
      if (request.currency !== '' && !CURRENCY.test(request.currency)) {
        invalid('GetLedgerTotals', [
          { field: 'currency', description: 'must be empty (all) or an ISO 4217 code / PTS' },
        ]);
      }
      const totals = await store.getLedgerTotals(request.currency);
      return {
        totals: totals.map((entry) =>
          create(LedgerTotalsSchema, {
            currency: entry.currency,
            debitsPendingMinor: entry.totals.debitsPending,
            debitsPostedMinor: entry.totals.debitsPosted,
            creditsPendingMinor: entry.totals.creditsPending,
            creditsPostedMinor: entry.totals.creditsPosted,
            accountCount: BigInt(entry.accountCount),
          }),
        ),
      };
    },
  };
}
