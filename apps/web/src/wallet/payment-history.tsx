/** The user's deposits and withdrawals, newest first, a page at a time (ListPayments). */
import { useCallback, useState } from 'react';
import type { Api } from '@streambet/client';
import {
  PaymentKind,
  PaymentProvider,
  PaymentStatus,
  type Payment,
} from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { formatMinor, paymentStatusLabel } from '@streambet/client/view';
import { errorText } from '../hooks.js';
import { useOnKey } from './wallet-live.js';

const pageSize = 10;

/** Props of {@link PaymentHistory}. */
export interface PaymentHistoryProps {
  readonly api: Api;
  /** Bumped when a payment changed: the first page reloads. */
  readonly reloadKey: number;
}

/** The payment history panel. */
export function PaymentHistory({ api, reloadKey }: PaymentHistoryProps) {
  const [payments, setPayments] = useState<readonly Payment[]>([]);
  const [nextToken, setNextToken] = useState('');
  const [error, setError] = useState<string>();
  const [loaded, setLoaded] = useState(false);

  const load = useCallback(
    async (pageToken: string) => {
      try {
        const answer = await api.payments.listPayments({ page: { pageSize, pageToken } });
        setPayments((shown) =>
          pageToken === '' ? answer.payments : [...shown, ...answer.payments],
        );
        setNextToken(answer.page?.nextPageToken ?? '');
        setError(undefined);
      } catch (e) {
        setError(errorText(e));
      } finally {
        setLoaded(true);
      }
    },
    [api],
  );
  useOnKey(() => void load(''), reloadKey);

  return (
    <section className="panel wallet-history" aria-labelledby="history-title" data-testid="history">
      <h2 id="history-title">Payment history</h2>
      {error !== undefined && <p className="error">{error}</p>}
      {loaded && payments.length === 0 && error === undefined && (
        <p className="muted">No deposits or withdrawals yet.</p>
      )}
      {payments.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">Type</th>
              <th scope="col">Method</th>
              <th scope="col" className="num">
                Amount
              </th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {payments.map((p) => {
              const withdrawal = p.kind === PaymentKind.WITHDRAWAL;
              return (
                <tr
                  key={p.paymentId}
                  data-testid="history-row"
                  data-payment-id={p.paymentId}
                  data-status={PaymentStatus[p.status].toLowerCase()}
                >
                  <td>{new Date(Number(p.createdAtMs)).toLocaleString()}</td>
                  <td>{withdrawal ? 'Withdrawal' : 'Deposit'}</td>
                  <td>
                    {p.provider === PaymentProvider.MERCADOPAGO_PIX ? 'Pix' : 'Card / Stripe'}
                  </td>
                  <td className="num">
                    {withdrawal ? '−' : '+'}
                    {formatMinor(p.amount?.amountMinor ?? 0n, p.amount?.currency ?? '')}
                  </td>
                  <td>{paymentStatusLabel(p.status, withdrawal)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {nextToken !== '' && (
        <button type="button" onClick={() => void load(nextToken)} data-testid="history-more">
          Show older payments
        </button>
      )}
    </section>
  );
}
