/**
 * Deposit: amount and method (card through Stripe, Pix through MercadoPago), then the client
 * action the payment service returned: in test mode a clearly labelled TEST MONEY card step with
 * the command that completes it, or the Pix QR code and copy-paste code with a live countdown.
 * The deposit's status follows the payment.* pushes (and a slow poll) until it is credited.
 */
import { useCallback, useId, useState } from 'react';
import type { Api } from '@streambet/client';
import {
  PaymentProvider,
  PaymentStatus,
  type DepositAction,
  type Payment,
} from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import {
  expiryCountdownText,
  formatMinor,
  newIdempotencyKey,
  parseMinor,
  paymentStatusLabel,
} from '@streambet/client/view';
import { useInterval, useNow } from '../hooks.js';
import { paymentErrorText } from './payment-errors.js';
import { useOnKey } from './wallet-live.js';

/** Props of {@link DepositForm}. */
export interface DepositFormProps {
  readonly api: Api;
  /** The deployment's real currency. */
  readonly currency: string;
  /** Bumped when a payment.* push arrived. */
  readonly paymentEvents: number;
  /** A deposit was created or changed (the history reloads). */
  readonly onChanged: () => void;
}

/** Test-mode keys of Stripe (and the platform's fake) start with pk_test_: no real card moves. */
function isTestMode(action: DepositAction | undefined): boolean {
  if (action?.action.case === 'stripe')
    return action.action.value.publishableKey.startsWith('pk_test_');
  if (action?.action.case === 'pix') return action.action.value.ticketUrl.includes('fake=1');
  return false;
}

/** The deposit form and the pending deposit's next step. */
export function DepositForm({ api, currency, paymentEvents, onChanged }: DepositFormProps) {
  const [amountText, setAmountText] = useState('');
  const [provider, setProvider] = useState(PaymentProvider.STRIPE);
  const [key, setKey] = useState(() => newIdempotencyKey());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [payment, setPayment] = useState<Payment>();
  const [action, setAction] = useState<DepositAction>();
  const amountId = useId();
  const pixAllowed = currency === 'BRL';

  const refresh = useCallback(async () => {
    if (payment === undefined) return;
    try {
      const got = await api.payments.getPayment({ paymentId: payment.paymentId });
      if (got.payment !== undefined && got.payment.status !== payment.status) onChanged();
      setPayment(got.payment);
      setAction(got.nextAction);
    } catch {
      // The next push or poll tries again.
    }
  }, [api, payment, onChanged]);
  useOnKey(() => void refresh(), paymentEvents);
  const pending =
    payment !== undefined &&
    (payment.status === PaymentStatus.REQUIRES_ACTION ||
      payment.status === PaymentStatus.PROCESSING);
  useInterval(() => void refresh(), pending ? 4_000 : undefined);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    const parsed = parseMinor(amountText, currency);
    if (!parsed.ok) {
      setError(parsed.message);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const created = await api.payments.createDeposit({
        idempotencyKey: key,
        provider,
        amount: { currency, amountMinor: parsed.amountMinor },
      });
      setPayment(created.payment);
      setAction(created.nextAction);
      setKey(newIdempotencyKey());
      onChanged();
    } catch (e) {
      // The same key is kept: retrying after UNAVAILABLE repeats the same deposit, never a second.
      setError(paymentErrorText(e, currency));
    } finally {
      setBusy(false);
    }
  }

  const changed = () => {
    setKey(newIdempotencyKey());
    setError(undefined);
  };

  return (
    <section className="panel wallet-card" aria-labelledby="deposit-title" data-testid="deposit">
      <h2 id="deposit-title">Deposit</h2>
      <form onSubmit={(e) => void submit(e)} className="wallet-form">
        <label htmlFor={amountId}>Amount ({currency})</label>
        <input
          id={amountId}
          inputMode="decimal"
          autoComplete="off"
          placeholder={currency === 'BRL' ? '50,00' : '50.00'}
          value={amountText}
          data-testid="deposit-amount"
          aria-invalid={error !== undefined}
          aria-describedby={error === undefined ? undefined : 'deposit-error'}
          onChange={(e) => {
            setAmountText(e.target.value);
            changed();
          }}
        />
        <fieldset className="methods">
          <legend>Method</legend>
          <label>
            <input
              type="radio"
              name="deposit-method"
              checked={provider === PaymentProvider.STRIPE}
              data-testid="method-card"
              onChange={() => {
                setProvider(PaymentProvider.STRIPE);
                changed();
              }}
            />{' '}
            Card
          </label>
          <label>
            <input
              type="radio"
              name="deposit-method"
              disabled={!pixAllowed}
              checked={provider === PaymentProvider.MERCADOPAGO_PIX}
              data-testid="method-pix"
              onChange={() => {
                setProvider(PaymentProvider.MERCADOPAGO_PIX);
                changed();
              }}
            />{' '}
            Pix{!pixAllowed && ' (BRL only)'}
          </label>
        </fieldset>
        <button type="submit" className="primary" disabled={busy} data-testid="deposit-submit">
          {busy ? 'Starting…' : 'Deposit'}
        </button>
        {error !== undefined && (
          <p id="deposit-error" className="error" role="alert" data-testid="deposit-error">
            {error}
          </p>
        )}
      </form>
      {payment !== undefined && (
        <PendingDeposit payment={payment} action={action} testMode={isTestMode(action)} />
      )}
    </section>
  );
}

function PendingDeposit({
  payment,
  action,
  testMode,
}: {
  readonly payment: Payment;
  readonly action: DepositAction | undefined;
  readonly testMode: boolean;
}) {
  const amount = formatMinor(payment.amount?.amountMinor ?? 0n, payment.amount?.currency ?? '');
  const status = paymentStatusLabel(payment.status, false);
  return (
    <div
      className="pending-deposit"
      data-testid="pending-deposit"
      data-payment-id={payment.paymentId}
      data-status={PaymentStatus[payment.status].toLowerCase()}
    >
      <p role="status" aria-live="polite">
        Deposit of <strong>{amount}</strong>: <span data-testid="deposit-status">{status}</span>
        {payment.failureMessage !== '' && (
          <span className="error"> — {payment.failureMessage}</span>
        )}
      </p>
      {testMode && (
        <p className="test-money" data-testid="test-money">
          TEST MONEY — fake payment provider, nothing is charged
        </p>
      )}
      {action?.action.case === 'stripe' && (
        <div className="card-step" data-testid="card-step">
          {testMode ? (
            <>
              <p>
                In test mode the card step is played by the fake Stripe. Make this payment succeed
                (or fail) from a terminal:
              </p>
              <pre tabIndex={0} aria-label="Command that completes the test payment">
                npm run simulate -- stripe succeed {payment.paymentId}
              </pre>
            </>
          ) : (
            <p className="error">
              Card payments need Stripe.js, which this build does not include; use Pix or the app.
            </p>
          )}
        </div>
      )}
      {action?.action.case === 'pix' && (
        <PixStep
          paymentId={payment.paymentId}
          qrCode={action.action.value.qrCode}
          pngBase64={action.action.value.qrCodePngBase64}
          expiresAtMs={Number(action.action.value.expiresAtMs)}
          testMode={testMode}
        />
      )}
    </div>
  );
}

function PixStep(props: {
  readonly paymentId: string;
  readonly qrCode: string;
  readonly pngBase64: string;
  readonly expiresAtMs: number;
  readonly testMode: boolean;
}) {
  const nowMs = useNow(1_000);
  const [copied, setCopied] = useState(false);
  const codeId = useId();
  const expired = props.expiresAtMs > 0 && nowMs >= props.expiresAtMs;
  return (
    <div className="pix-step" data-testid="pix-step">
      {props.pngBase64 !== '' && (
        <img
          className="pix-qr"
          src={`data:image/png;base64,${props.pngBase64}`}
          alt="Pix QR code: scan it with your bank app"
          width={200}
          height={200}
          data-testid="pix-qr"
        />
      )}
      <label htmlFor={codeId}>Pix copy-paste code</label>
      <textarea
        id={codeId}
        readOnly
        rows={3}
        value={props.qrCode}
        data-testid="pix-code"
        onFocus={(e) => e.currentTarget.select()}
      />
      <div className="row between">
        <button
          type="button"
          data-testid="pix-copy"
          onClick={() => {
            void navigator.clipboard?.writeText(props.qrCode).then(() => setCopied(true));
          }}
        >
          {copied ? 'Copied' : 'Copy code'}
        </button>
        {props.expiresAtMs > 0 && (
          <span data-testid="pix-countdown" className={expired ? 'error' : 'muted'}>
            {expired
              ? 'Expired: start a new deposit'
              : `Expires in ${expiryCountdownText(props.expiresAtMs, nowMs)}`}
          </span>
        )}
      </div>
      {props.testMode && (
        <pre tabIndex={0} aria-label="Command that pays the test Pix charge">
          npm run simulate -- mercadopago succeed {props.paymentId}
        </pre>
      )}
    </div>
  );
}
