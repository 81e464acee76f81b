/**
 * Pushing a StreamBet market to Twitch as a Channel Points prediction, pure: whether Twitch's
 * limits can carry it (title ≤ 45 chars, 2–10 outcomes of ≤ 25 chars, a window of 30–1800 s, one
 * active prediction per channel), and the reason shown on GetChannel (push_note) when not.
 */

/** Twitch's prediction limits. */
export const twitchPredictionLimits = {
  maxTitleChars: 45,
  maxOutcomeChars: 25,
  minOutcomes: 2,
  maxOutcomes: 10,
  minWindowSeconds: 30,
  maxWindowSeconds: 1800,
} as const;

/** The market as the push needs it. */
export interface PushableMarket {
  readonly title: string;
  readonly outcomes: readonly string[];
  /** From the open to betting_closes_at, in seconds. */
  readonly windowSeconds: number;
  /** Set when the market mirrors a Twitch prediction: it is on Twitch already. */
  readonly twitchPredictionId: string;
}

/** Push it, or skip it with a reason. */
export type PushDecision =
  | { readonly kind: 'push'; readonly windowSeconds: number }
  | { readonly kind: 'skip'; readonly reason: string };

/** Decides whether `market` can be pushed while `activeOnChannel` pushes are unfinished. */
export function decidePush(market: PushableMarket, activeOnChannel: number): PushDecision {
  const l = twitchPredictionLimits;
  const skip = (reason: string): PushDecision => ({ kind: 'skip', reason });
  if (market.twitchPredictionId !== '') return skip('it mirrors a Twitch prediction already');
  if ([...market.title].length > l.maxTitleChars) {
    return skip(`title longer than ${l.maxTitleChars} chars (Twitch's limit)`);
  }
  if (market.outcomes.length < l.minOutcomes || market.outcomes.length > l.maxOutcomes) {
    return skip(`Twitch predictions have ${l.minOutcomes}–${l.maxOutcomes} outcomes`);
  }
  const long = market.outcomes.find((o) => [...o].length > l.maxOutcomeChars);
  if (long !== undefined) {
    return skip(`outcome "${long}" longer than ${l.maxOutcomeChars} chars (Twitch's limit)`);
  }
  if (market.windowSeconds < l.minWindowSeconds || market.windowSeconds > l.maxWindowSeconds) {
    return skip(
      `betting window of ${market.windowSeconds} s is outside Twitch's ${l.minWindowSeconds}–${l.maxWindowSeconds} s`,
    );
  }
  if (activeOnChannel > 0) {
    return skip('another pushed prediction is still active on the channel (Twitch allows one)');
  }
  return { kind: 'push', windowSeconds: market.windowSeconds };
}
