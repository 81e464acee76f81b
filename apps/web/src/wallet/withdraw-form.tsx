/**
 * Withdrawal: destination (a Pix key, or a Stripe connected account) and amount; then the
 * withdrawal's status as it moves — requested, processing (amount held, payout sent), paid or
 * failed (the hold released) — following the payment.* pushes.
 */
import { useCallback, useId, useState } from 'react';
import type { Api } from '@streambet/client';
import {
  PaymentStatus,
  PixKeyType,
  type Payment,
} from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { RequestWithdrawalRequestSchema } from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import {
  formatMinor,
  newIdempotencyKey,
  parseMinor,
  paymentStatusLabel,
} from '@streambet/client/view';
import { useInterval } from '../hooks.js';
import { paymentErrorText } from './payment-errors.js';
import { useOnKey } from './wallet-live.js';

/** Props of {@link WithdrawForm}. */
export interface WithdrawFormProps {
  readonly api: Api;
  readonly currency: string;
  /** What can be withdrawn now (minor units), shown as a hint. */
  readonly availableMinor: bigint;
  readonly paymentEvents: number;
  readonly onChanged: () => void;
}

type DestinationKind = 'pix' | 'stripe';

const keyTypes: ReadonlyArray<readonly [PixKeyType, string]> = [
  [PixKeyType.CPF, 'CPF (11 digits)'],
  [PixKeyType.EMAIL, 'Email'],
  [PixKeyType.PHONE, 'Phone (+55…)'],
  [PixKeyType.RANDOM, 'Random key'],
];

function destinationOf(
  kind: DestinationKind,
  keyType: PixKeyType,
  value: string,
): MessageInitShape<typeof RequestWithdrawalRequestSchema>['destination'] {
  return kind === 'pix'
    ? { destination: { case: 'pix', value: { keyType, key: value.trim() } } }
    : { destination: { case: 'stripe', value: { connectedAccountId: value.trim() } } };
}

/** The steps a withdrawal shows, and which one it is at. */
function stepOf(status: PaymentStatus): number {
  if (status === PaymentStatus.SUCCEEDED || status === PaymentStatus.FAILED) return 2;
  if (status === PaymentStatus.PROCESSING) return 1;
  return 0;
}

/** The withdrawal form and the latest withdrawal's progress. */
export function WithdrawForm(props: WithdrawFormProps) {
  const { api, currency, paymentEvents, onChanged } = props;
  const [kind, setKind] = useState<DestinationKind>(currency === 'BRL' ? 'pix' : 'stripe');
  const [keyType, setKeyType] = useState(PixKeyType.CPF);
  const [destination, setDestination] = useState('');
  const [amountText, setAmountText] = useState('');
  const [secondFactorCode, setSecondFactorCode] = useState('');
  const [key, setKey] = useState(() => newIdempotencyKey());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [payment, setPayment] = useState<Payment>();
  const ids = {
    amount: useId(),
    kind: useId(),
    keyType: useId(),
    destination: useId(),
    code: useId(),
  };

  const refresh = useCallback(async () => {
    if (payment === undefined) return;
    try {
      const got = await api.payments.getPayment({ paymentId: payment.paymentId });
      if (got.payment !== undefined && got.payment.status !== payment.status) onChanged();
      setPayment(got.payment);
    } catch {
      // The next push or poll tries again.
    }
  }, [api, payment, onChanged]);
  useOnKey(() => void refresh(), paymentEvents);
  useInterval(
    () => void refresh(),
    payment?.status === PaymentStatus.PROCESSING ? 4_000 : undefined,
  );

  const changed = () => {
    setKey(newIdempotencyKey());
    setError(undefined);
  };

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    const parsed = parseMinor(amountText, currency);
    if (!parsed.ok) {
      setError(parsed.message);
      return;
    }
    if (destination.trim() === '') {
      setError(kind === 'pix' ? 'Enter your Pix key.' : 'Enter your Stripe account id (acct_…).');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.payments.requestWithdrawal({
        idempotencyKey: key,
        amount: { currency, amountMinor: parsed.amountMinor },
        destination: destinationOf(kind, keyType, destination),
        secondFactorCode: secondFactorCode.trim(),
      });
      setSecondFactorCode('');
      setPayment(answer.payment);
      setKey(newIdempotencyKey());
      onChanged();
    } catch (e) {
      setError(paymentErrorText(e, currency));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="panel wallet-card" aria-labelledby="withdraw-title" data-testid="withdraw">
      <h2 id="withdraw-title">Withdraw</h2>
      <p className="muted small">
        Available to withdraw: {formatMinor(props.availableMinor, currency)}. Withdrawals need a
        verified identity (KYC).
      </p>
      <form onSubmit={(e) => void submit(e)} className="wallet-form">
        <label htmlFor={ids.kind}>Pay to</label>
        <select
          id={ids.kind}
          value={kind}
          data-testid="withdraw-kind"
          onChange={(e) => {
            setKind(e.target.value === 'pix' ? 'pix' : 'stripe');
            changed();
          }}
        >
          {currency === 'BRL' && <option value="pix">Pix key</option>}
          <option value="stripe">Stripe account</option>
        </select>
        {kind === 'pix' && (
          <>
            <label htmlFor={ids.keyType}>Pix key type</label>
            <select
              id={ids.keyType}
              value={keyType}
              data-testid="withdraw-key-type"
              onChange={(e) => {
                setKeyType(Number(e.target.value));
                changed();
              }}
            >
              {keyTypes.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </>
        )}
        <label htmlFor={ids.destination}>{kind === 'pix' ? 'Pix key' : 'Stripe account id'}</label>
        <input
          id={ids.destination}
          autoComplete="off"
          placeholder={kind === 'pix' ? '12345678901' : 'acct_…'}
          value={destination}
          data-testid="withdraw-destination"
          onChange={(e) => {
            setDestination(e.target.value);
            changed();
          }}
        />
        <label htmlFor={ids.amount}>Amount ({currency})</label>
        <input
          id={ids.amount}
          inputMode="decimal"
          autoComplete="off"
          value={amountText}
          data-testid="withdraw-amount"
          aria-invalid={error !== undefined}
          aria-describedby={error === undefined ? undefined : 'withdraw-error'}
          onChange={(e) => {
            setAmountText(e.target.value);
            changed();
          }}
        />
        <label htmlFor={ids.code}>
          Two-step code (only if you turned two-step verification on)
        </label>
        <input
          id={ids.code}
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={6}
          value={secondFactorCode}
          data-testid="withdraw-second-factor"
          onChange={(e) => setSecondFactorCode(e.target.value)}
        />
        <button type="submit" className="primary" disabled={busy} data-testid="withdraw-submit">
          {busy ? 'Requesting…' : 'Withdraw'}
        </button>
        {error !== undefined && (
          <p id="withdraw-error" className="error" role="alert" data-testid="withdraw-error">
            {error}
          </p>
        )}
      </form>
      {payment !== undefined && <WithdrawalProgress payment={payment} />}
    </section>
  );
}

function WithdrawalProgress({ payment }: { readonly payment: Payment }) {
  const step = stepOf(payment.status);
  const failed = payment.status === PaymentStatus.FAILED;
  const labels = ['Requested', 'Processing', failed ? 'Failed' : 'Paid'];
  return (
    <div
      className="withdrawal-progress"
      data-testid="withdrawal-progress"
      data-payment-id={payment.paymentId}
      data-status={PaymentStatus[payment.status].toLowerCase()}
    >
      <p role="status" aria-live="polite">
        Withdrawal of{' '}
        <strong>
          {formatMinor(payment.amount?.amountMinor ?? 0n, payment.amount?.currency ?? '')}
        </strong>
        : <span data-testid="withdrawal-status">{paymentStatusLabel(payment.status, true)}</span>
      </p>
      <ol className="steps">
        {labels.map((label, index) => (
          <li
            key={label}
            className={
              index < step || (index === step && index === 2)
                ? 'done'
                : index === step
                  ? 'current'
                  : ''
            }
            aria-current={index === step ? 'step' : undefined}
          >
            {label}
          </li>
        ))}
      </ol>
      {failed && (
        <p className="error">
          {payment.failureMessage || 'The payout failed.'} The amount is back in your wallet.
        </p>
      )}
    </div>
  );
}
