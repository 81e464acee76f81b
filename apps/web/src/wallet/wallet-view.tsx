/**
 * `?view=wallet`: the signed-in user's money. Real currency and play money (PTS) are shown apart,
 * each in its own formatting; deposits (card, Pix) and withdrawals start here and their status
 * moves live over the page's own socket (wallet.* pushes update balances by ledger sequence,
 * payment.* pushes re-read the payment); the history lists every payment, a page at a time.
 */
import { useCallback, useState } from 'react';
import { playMoneyCurrency, formatMinor, type ShownBalance } from '@streambet/client/view';
import type { ViewProps } from '../views.js';
import { DepositForm } from './deposit-form.js';
import { PaymentHistory } from './payment-history.js';
import { useWalletBook } from './wallet-live.js';
import { useWalletSocket } from './wallet-socket.js';
import { WithdrawForm } from './withdraw-form.js';
import './wallet.css';

/** The wallet screen. */
export function WalletView(props: ViewProps) {
  if (props.session === undefined) {
    return (
      <section className="panel" aria-labelledby="view-title">
        <h1 id="view-title">Wallet</h1>
        <p className="muted">Log in to see your wallet, deposit or withdraw.</p>
      </section>
    );
  }
  return <SignedInWallet {...props} session={props.session} />;
}

function SignedInWallet(
  props: ViewProps & { readonly session: NonNullable<ViewProps['session']> },
) {
  const { api, origin, session, refreshKey, onUserEvent } = props;
  const [paymentEvents, setPaymentEvents] = useState(0);
  const [historyKey, setHistoryKey] = useState(0);
  const onEvent = useCallback(
    (eventName: string) => {
      if (eventName.includes('Deposit') || eventName.includes('Withdrawal')) {
        setPaymentEvents((n) => n + 1);
        setHistoryKey((n) => n + 1);
        onUserEvent();
      }
    },
    [onUserEvent],
  );
  const live = useWalletSocket(origin, session.tokens.accessToken, session.user.userId, onEvent);
  const wallet = useWalletBook(api, refreshKey, live);
  const balances = [...wallet.book.balances.values()];
  // GetWallet answers the deployment's real currency first, then PTS.
  const real = balances.find((b) => b.currency !== playMoneyCurrency);
  const points = wallet.book.balances.get(playMoneyCurrency);
  const paymentChanged = useCallback(() => {
    setHistoryKey((n) => n + 1);
    void wallet.reload();
  }, [wallet]);

  return (
    <div className="wallet-view">
      {/* Not a landmark: the header's balances are already the region named "Wallet". */}
      <div className="panel">
        <div className="row between">
          <h1 id="view-title">Wallet</h1>
          <span className={`live-dot ${live ? 'on' : 'off'}`} data-testid="wallet-live">
            {live ? 'live' : 'reconnecting'}
          </span>
        </div>
        {wallet.error !== undefined && <p className="error">{wallet.error}</p>}
        <div className="balances">
          {real !== undefined && (
            <BalanceCard title="Real money" balance={real} note="Deposit and withdraw below." />
          )}
          {points !== undefined && (
            <BalanceCard
              title="Play money"
              balance={points}
              note="Points are for fun: they cannot be deposited or withdrawn."
            />
          )}
        </div>
      </div>
      {real !== undefined ? (
        <div className="wallet-actions">
          <DepositForm
            api={api}
            currency={real.currency}
            paymentEvents={paymentEvents}
            onChanged={paymentChanged}
          />
          <WithdrawForm
            api={api}
            currency={real.currency}
            availableMinor={real.availableMinor}
            paymentEvents={paymentEvents}
            onChanged={paymentChanged}
          />
        </div>
      ) : (
        wallet.book.balances.size > 0 && (
          <p className="panel muted">This deployment runs on play money only.</p>
        )
      )}
      <PaymentHistory api={api} reloadKey={historyKey + refreshKey} />
    </div>
  );
}

function BalanceCard(props: {
  readonly title: string;
  readonly balance: ShownBalance;
  readonly note: string;
}) {
  const { balance } = props;
  return (
    <div
      className="balance-card"
      data-testid={`balance-${balance.currency}`}
      data-available-minor={balance.availableMinor.toString()}
      data-sequence={balance.sequence.toString()}
    >
      <h2>
        {props.title} <span className="muted small">({balance.currency})</span>
      </h2>
      <p className="amount" data-testid={`balance-${balance.currency}-available`}>
        {formatMinor(balance.availableMinor, balance.currency)}
      </p>
      <p className="muted small">
        {balance.pendingMinor > 0n
          ? `${formatMinor(balance.pendingMinor, balance.currency)} held (bets, withdrawals in progress). `
          : ''}
        {props.note}
      </p>
    </div>
  );
}
