/**
 * The payment service's view of the user service, as narrow ports with their Connect adapters:
 * CheckEligibility (may this user deposit / withdraw this amount now) and the ledger, the only
 * way money moves, with transfer ids derived from the payment id (payment.proto):
 * credit `payment:<id>:credit` (psp_clearing → wallet), hold `payment:<id>:hold`
 * (wallet → psp_clearing, pending, no timeout), post `payment:<id>:post`, void `payment:<id>:void`.
 * Every command is idempotent by its id, so the saga repeats it freely after a crash or timeout.
 */
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import { EligibilityResultSchema } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import {
  EligibilityAction,
  IneligibilityReason,
  type EligibilityResult,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import type { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import {
  CreateAccountResultCode,
  TransferResultCode,
  type LedgerInternalService,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind,
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import {
  IllegalStateError,
  ResourceExhaustedError,
  UnavailableError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import { accountIds, transferIds } from './domain/payment.js';
import { reportedTransfer, type ReportItem } from './domain/reconciliation-report.js';

/** An action refused for eligibility reasons: FAILED_PRECONDITION with the EligibilityResult detail. */
export class IneligibleError extends IllegalStateError {
  constructor(
    action: 'deposit' | 'withdrawal',
    readonly result: EligibilityResult,
  ) {
    super(
      `${action} refused: ${
        result.reasons.map((r) => reasonText[r.reason] ?? 'not allowed now').join('; ') ||
        'no such user'
      }`,
      { details: [{ desc: EligibilityResultSchema, value: result }] },
    );
  }
}

const reasonText: Partial<Record<IneligibilityReason, string>> = {
  [IneligibilityReason.ACCOUNT_FROZEN]: 'the account is frozen by an admin',
  [IneligibilityReason.SELF_EXCLUDED]: 'self-excluded',
  [IneligibilityReason.COOLING_OFF]: 'cooling off',
  [IneligibilityReason.UNDER_AGE]: 'real money requires age 18',
  [IneligibilityReason.KYC_REQUIRED]:
    'identity verification (KYC) is required first; submit it with StartKyc',
  [IneligibilityReason.DEPOSIT_LIMIT_EXCEEDED]: 'your deposit limit would be exceeded',
  [IneligibilityReason.LOSS_LIMIT_EXCEEDED]: 'your loss limit would be exceeded',
  [IneligibilityReason.EMAIL_NOT_VERIFIED]:
    'real money needs a confirmed email address; open the link we emailed you (or ask for a new one)',
};

/** Eligibility through UserInternalService.CheckEligibility. */
export interface EligibilityPort {
  /** Throws {@link IneligibleError} when refused, UnavailableError when the user service is down. */
  require(
    userId: string,
    action: 'deposit' | 'withdrawal',
    amountMinor: bigint,
    currency: string,
  ): Promise<void>;
  /**
   * Checks the user's two-step code through UserInternalService.VerifySecondFactor (passes when
   * two-step verification is off): INVALID_ARGUMENT on second_factor_code when missing or wrong,
   * RESOURCE_EXHAUSTED when locked out, UnavailableError when the user service is down.
   */
  requireSecondFactor(userId: string, code: string, clientAddress: string): Promise<void>;
}

function unavailable(what: string, error: unknown): UnavailableError {
  return new UnavailableError(`${what} is unavailable; retry shortly with the same key`, {
    cause: error,
  });
}

/** The eligibility port over the user service's internal API. */
export function eligibilityFromClient(client: Client<typeof UserInternalService>): EligibilityPort {
  return {
    async require(userId, action, amountMinor, currency) {
      let response;
      try {
        response = await client.checkEligibility({
          checks: [
            {
              userId,
              action: action === 'deposit' ? EligibilityAction.DEPOSIT : EligibilityAction.WITHDRAW,
              amount: { currency, amountMinor },
            },
          ],
        });
      } catch (error) {
        throw unavailable('the user service', error);
      }
      const answer = response.results[0];
      if (answer?.userFound !== true || answer.result?.allowed !== true) {
        throw new IneligibleError(
          action,
          answer?.result ?? ({ allowed: false, reasons: [] } as unknown as EligibilityResult),
        );
      }
    },
    async requireSecondFactor(userId, code, clientAddress) {
      try {
        await client.verifySecondFactor({ userId, code, clientAddress });
      } catch (error) {
        const e = ConnectError.from(error);
        if (e.code === Code.InvalidArgument) {
          throw new ValidationError('withdrawal refused', [
            { field: 'second_factor_code', description: e.rawMessage.replace(/^.*?\bcode: /, '') },
          ]);
        }
        if (e.code === Code.ResourceExhausted) throw new ResourceExhaustedError(e.rawMessage);
        throw unavailable('the user service', error);
      }
    },
  };
}

/** How one ledger command ended. */
export type LedgerOutcome =
  | { readonly committed: true; readonly transferId: string }
  | {
      readonly committed: false;
      readonly transferId: string;
      readonly code: string;
      readonly detail: string;
    };

/** A deposit credit: psp_clearing → the user's wallet, id `payment:<id>:credit`. */
export interface DepositCredit {
  readonly paymentId: string;
  readonly userId: string;
  readonly amountMinor: bigint;
  readonly currency: string;
}

/** The ledger operations of deposits and withdrawals. */
export interface PaymentLedger {
  /** Creates the user's wallet and psp_clearing in `currency` if missing (idempotent). */
  ensureAccounts(userId: string, currency: string): Promise<void>;
  credit(
    paymentId: string,
    userId: string,
    amountMinor: bigint,
    currency: string,
  ): Promise<LedgerOutcome>;
  /**
   * Several deposit credits in ONE SubmitTransfers call (the ledger applies each command on its
   * own and answers one result per command): one outcome per credit, in order.
   */
  creditMany(credits: readonly DepositCredit[]): Promise<LedgerOutcome[]>;
  hold(
    paymentId: string,
    userId: string,
    amountMinor: bigint,
    currency: string,
  ): Promise<LedgerOutcome>;
  post(paymentId: string, amountMinor: bigint, currency: string): Promise<LedgerOutcome>;
  void(paymentId: string, currency: string): Promise<LedgerOutcome>;
}

/** The ledger through LedgerInternalService (throws UnavailableError when unreachable). */
export function ledgerFromClient(client: Client<typeof LedgerInternalService>): PaymentLedger {
  type Command = {
    transferId: string;
    kind: TransferKind;
    debitAccountId?: string;
    creditAccountId?: string;
    amountMinor: bigint;
    currency: string;
    pendingId?: string;
    code: TransferCode;
    paymentId: string;
  };

  async function submitMany(commands: readonly Command[]): Promise<LedgerOutcome[]> {
    let response;
    try {
      response = await client.submitTransfers({ commands: [...commands] });
    } catch (error) {
      throw unavailable('the ledger', error);
    }
    return commands.map((command, index): LedgerOutcome => {
      const result = response.results[index];
      if (
        result?.code === TransferResultCode.OK ||
        result?.code === TransferResultCode.ALREADY_EXISTS_SAME
      ) {
        return { committed: true, transferId: command.transferId };
      }
      return {
        committed: false,
        transferId: command.transferId,
        code: TransferResultCode[result?.code ?? 0] ?? 'UNKNOWN',
        detail: result?.detail ?? '',
      };
    });
  }

  async function submit(command: Command): Promise<LedgerOutcome> {
    const [outcome] = await submitMany([command]);
    return outcome!;
  }

  const creditCommand = (credit: DepositCredit): Command => ({
    transferId: transferIds.credit(credit.paymentId),
    kind: TransferKind.SINGLE_PHASE,
    debitAccountId: accountIds.pspClearing(credit.currency),
    creditAccountId: accountIds.wallet(credit.userId, credit.currency),
    amountMinor: credit.amountMinor,
    currency: credit.currency,
    code: TransferCode.DEPOSIT,
    paymentId: credit.paymentId,
  });

  return {
    async ensureAccounts(userId, currency) {
      let response;
      try {
        response = await client.createAccounts({
          accounts: [
            {
              accountId: accountIds.wallet(userId, currency),
              kind: AccountKind.USER_WALLET,
              currency,
              ownerId: userId,
            },
            {
              accountId: accountIds.pspClearing(currency),
              kind: AccountKind.PSP_CLEARING,
              currency,
              ownerId: '',
            },
          ],
        });
      } catch (error) {
        throw unavailable('the ledger', error);
      }
      for (const result of response.results) {
        if (
          result.code !== CreateAccountResultCode.OK &&
          result.code !== CreateAccountResultCode.ALREADY_EXISTS_SAME
        ) {
          throw new ConnectError(
            `ledger refused account ${result.accountId}: ${CreateAccountResultCode[result.code]}`,
            Code.Internal,
          );
        }
      }
    },
    credit: (paymentId, userId, amountMinor, currency) =>
      submit(creditCommand({ paymentId, userId, amountMinor, currency })),
    creditMany: (credits) =>
      credits.length === 0 ? Promise.resolve([]) : submitMany(credits.map(creditCommand)),
    hold: (paymentId, userId, amountMinor, currency) =>
      submit({
        transferId: transferIds.hold(paymentId),
        kind: TransferKind.PENDING,
        debitAccountId: accountIds.wallet(userId, currency),
        creditAccountId: accountIds.pspClearing(currency),
        amountMinor,
        currency,
        code: TransferCode.WITHDRAWAL,
        paymentId,
      }),
    post: (paymentId, amountMinor, currency) =>
      submit({
        transferId: transferIds.post(paymentId),
        kind: TransferKind.POST_PENDING,
        amountMinor,
        currency,
        pendingId: transferIds.hold(paymentId),
        code: TransferCode.WITHDRAWAL,
        paymentId,
      }),
    void: (paymentId, currency) =>
      submit({
        transferId: transferIds.void(paymentId),
        kind: TransferKind.VOID_PENDING,
        amountMinor: 0n,
        currency,
        pendingId: transferIds.hold(paymentId),
        code: TransferCode.WITHDRAWAL,
        paymentId,
      }),
  };
}

/** The ledger's side of the daily provider-vs-ledger report. */
export interface PaymentLedgerReader {
  /**
   * The deposit credits (`payment:<id>:credit`) and withdrawal posts (`payment:<id>:post`) of
   * `currency` committed in [fromMs, toMs), read from psp_clearing's transfers (every payment
   * transfer has psp_clearing on one side). Throws UnavailableError when the ledger is down.
   */
  paymentTransfers(currency: string, fromMs: number, toMs: number): Promise<ReportItem[]>;
}

/** The report's ledger reader through LedgerInternalService.ListAccountTransfers. */
export function ledgerReaderFromClient(
  client: Client<typeof LedgerInternalService>,
): PaymentLedgerReader {
  return {
    async paymentTransfers(currency, fromMs, toMs) {
      const items: ReportItem[] = [];
      let pageToken = '';
      do {
        let response;
        try {
          response = await client.listAccountTransfers({
            accountId: accountIds.pspClearing(currency),
            codes: [TransferCode.DEPOSIT, TransferCode.WITHDRAWAL],
            fromMs: BigInt(fromMs),
            toMs: BigInt(toMs),
            newestFirst: false,
            page: { pageSize: 200, pageToken },
          });
        } catch (error) {
          // No psp_clearing account yet: no payment ever moved money in this currency.
          if (ConnectError.from(error).code === Code.NotFound) return items;
          throw unavailable('the ledger', error);
        }
        for (const transfer of response.transfers) {
          const reported = reportedTransfer(transfer.transferId);
          if (reported === undefined) continue;
          items.push({
            ...reported,
            currency: transfer.currency,
            amountMinor: transfer.amountMinor,
          });
        }
        pageToken = response.page?.nextPageToken ?? '';
      } while (pageToken !== '');
      return items;
    },
  };
}
