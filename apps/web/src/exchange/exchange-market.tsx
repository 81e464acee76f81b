/** An EXCHANGE market on the channel page (its area's helper replaces this first version). */
import type { Api } from '@streambet/client';
import type { Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';

/** Props of {@link ExchangeMarketCard}. */
export interface ExchangeMarketCardProps {
  readonly api: Api;
  readonly market: Market;
  readonly nowMs: number;
  readonly signedIn: boolean;
  readonly userId: string | undefined;
  /** Bumped when the user's data may have changed (reload orders). */
  readonly refreshKey: number;
  /** Tell the app an order of this user was placed or canceled. */
  readonly onUserEvent: () => void;
}

/** The market's ladder, the user's orders and one-click back/lay. */
export function ExchangeMarketCard({ market }: ExchangeMarketCardProps) {
  return (
    <article
      className="panel market"
      data-testid="exchange-market"
      data-market-id={market.marketId}
    >
      <h2>{market.title}</h2>
      <p className="muted">Back/lay betting on this market is coming soon.</p>
    </article>
  );
}
