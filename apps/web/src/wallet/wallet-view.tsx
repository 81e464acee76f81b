/** The Wallet screen (its area's helper replaces this first version). */
import type { ViewProps } from '../views.js';

/** `?view=wallet`. */
export function WalletView(props: ViewProps) {
  return (
    <section className="panel" aria-labelledby="view-title">
      <h1 id="view-title">Wallet</h1>
      {props.session === undefined && <p className="muted">Log in to see this page.</p>}
    </section>
  );
}
