/** The Account screen (its area's helper replaces this first version). */
import type { ViewProps } from '../views.js';

/** `?view=account`. */
export function AccountView(props: ViewProps) {
  return (
    <section className="panel" aria-labelledby="view-title">
      <h1 id="view-title">Account</h1>
      {props.session === undefined && <p className="muted">Log in to see this page.</p>}
    </section>
  );
}
