/**
 * The wallet view of UserService (GetWallet, ListTransactions): a signed-in user's wallets and
 * history, read from the ledger.
 */
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { ValidationError, type FieldViolation } from '@streambet/platform/errors/domain-errors';
import type { LedgerStore } from './store/index.js';
import { transferToProto } from './proto-codec.js';
import { canonicalAccountId, PLAY_CURRENCY } from './domain/account-rules.js';
import { availableChangeOf } from './domain/history.js';
import { isTransferCode } from './domain/transfer-rules.js';
import { AccountKind, type TransferCode } from './domain/types.js';
import { targetUser, userCaller } from '../identity/requests.js';

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;
const PAGE_TOKEN_PREFIX = 'wallet-seq:';

/** Cursor of ListTransactions: the sequence of the last transfer returned, opaque to clients. */
function encodePageToken(sequence: bigint): string {
  return Buffer.from(`${PAGE_TOKEN_PREFIX}${sequence}`, 'utf8').toString('base64url');
}

function decodePageToken(token: string, violations: FieldViolation[]): bigint | undefined {
  if (token === '') return undefined;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const digits = text.startsWith(PAGE_TOKEN_PREFIX) ? text.slice(PAGE_TOKEN_PREFIX.length) : '';
  if (!/^[1-9][0-9]{0,18}$/.test(digits)) {
    violations.push({
      field: 'page.page_token',
      description: 'is not a token from a previous response; omit it for the first page',
    });
    return undefined;
  }
  return BigInt(digits);
}

/** Dependencies of {@link createWalletService}. */
export interface WalletServiceDeps {
  readonly ledger: LedgerStore;
  readonly realCurrency: string;
}

/**
 * The wallet view of UserService, read straight from the ledger: the user's wallet account per
 * currency (real first, then PTS). A wallet that has never moved money has no account yet and
 * reads as zero. ListTransactions pages through the ledger transfers touching those wallets,
 * newest first, with each one's effect on the available balance.
 */
export function createWalletService(
  deps: WalletServiceDeps,
): Pick<ServiceImpl<typeof UserService>, 'getWallet' | 'listTransactions'> {
  const currencies = [deps.realCurrency, PLAY_CURRENCY];
  return {
    async getWallet(req, ctx: HandlerContext) {
      const userId = targetUser(userCaller(ctx), req.userId, 'wallet');
      const ids = currencies.map((currency) =>
        canonicalAccountId(AccountKind.USER_WALLET, currency, userId),
      );
      const accounts = await deps.ledger.lookupAccounts(ids);
      return {
        balances: currencies.map((currency, i) => {
          const account = accounts.find((a) => a.accountId === ids[i]);
          const postedMinor =
            account === undefined
              ? 0n
              : account.balance.creditsPosted - account.balance.debitsPosted;
          const pendingMinor = account?.balance.debitsPending ?? 0n;
          return {
            currency,
            postedMinor,
            pendingMinor,
            availableMinor: postedMinor - pendingMinor,
          };
        }),
      };
    },

    async listTransactions(req, ctx: HandlerContext) {
      const userId = targetUser(userCaller(ctx), req.userId, 'transactions');
      const violations: FieldViolation[] = [];
      if (req.currency !== '' && !currencies.includes(req.currency)) {
        violations.push({
          field: 'currency',
          description: `must be empty (all) or one of ${currencies.join(', ')}`,
        });
      }
      const pageSize = req.page?.pageSize ?? 0;
      if (pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
        violations.push({
          field: 'page.page_size',
          description: `must be 1–${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE})`,
        });
      }
      if (req.fromMs < 0n)
        violations.push({ field: 'from_ms', description: 'must be 0 or a positive instant' });
      if (req.toMs < 0n)
        violations.push({ field: 'to_ms', description: 'must be 0 or a positive instant' });
      if (req.fromMs > 0n && req.toMs > 0n && req.toMs <= req.fromMs)
        violations.push({ field: 'to_ms', description: 'must be after from_ms' });
      const badCode = req.codes.find((code) => !isTransferCode(code));
      if (badCode !== undefined)
        violations.push({ field: 'codes', description: `contains an unknown code ${badCode}` });
      const beforeSequence = decodePageToken(req.page?.pageToken ?? '', violations);
      if (violations.length > 0)
        throw new ValidationError('ListTransactions request is invalid', violations);
      const accountIds = currencies
        .filter((currency) => req.currency === '' || currency === req.currency)
        .map((currency) => canonicalAccountId(AccountKind.USER_WALLET, currency, userId));
      const page = await deps.ledger.listWalletHistory({
        accountIds,
        codes: req.codes.map((code) => code as number as TransferCode),
        fromMs: Number(req.fromMs),
        toMs: Number(req.toMs),
        limit: pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize,
        ...(beforeSequence === undefined ? {} : { beforeSequence }),
      });
      return {
        transactions: page.entries.map(({ transfer, heldAmountMinor }) => {
          const wallet =
            accountIds.find((id) => id === transfer.debitAccountId) ??
            accountIds.find((id) => id === transfer.creditAccountId) ??
            '';
          return {
            transfer: transferToProto(transfer),
            signedAmountMinor: availableChangeOf(transfer, heldAmountMinor, wallet),
          };
        }),
        page: {
          nextPageToken:
            page.nextBeforeSequence === undefined ? '' : encodePageToken(page.nextBeforeSequence),
        },
      };
    },
  };
}
