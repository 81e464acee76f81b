import { create, toJson } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import {
  BetRejectionReason,
  BetRejectionSchema,
  BetStatus,
  MarketOddsSchema,
  type MarketOdds,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  MarketLockedSchema,
  MarketResolvedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { MarketSchema, MarketState } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  decodeChatHistory,
  decodeRealtimeEvent,
  serverEvents,
  type ChatHistoryPayload,
  type ChatMessageJson,
} from '@streambet/client/events';
import { ChatMessageSchema } from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import {
  applyMarketTransition,
  betStatusLabel,
  countText,
  countdownText,
  formatMoney,
  formatOdds,
  mergeOdds,
  mergeOddsInto,
  newIdempotencyKey,
  oddsFromMarket,
  parseStake,
  refreshDelayMs,
  rejectionMessage,
} from '@streambet/client/view';

function odds(version: bigint, decimalOdds = '2.00', marketId = 'm1'): MarketOdds {
  return create(MarketOddsSchema, {
    marketId,
    currency: 'PTS',
    version,
    totalStakedMinor: 100n * version,
    outcomes: [{ outcomeId: 'o1', decimalOdds, stakedMinor: 10n }],
  });
}

describe('countText', () => {
  it('given one or many, then the noun agrees', () => {
    expect(countText(1n, 'bettor')).toBe('1 bettor');
    expect(countText(0n, 'bettor')).toBe('0 bettors');
    expect(countText(12, 'bettor')).toBe('12 bettors');
  });
});

describe('formatMoney', () => {
  it('given BRL cents, then shows reais with two decimals and thousands separators', () => {
    expect(formatMoney(0n, 'BRL')).toBe('R$ 0.00');
    expect(formatMoney(5n, 'BRL')).toBe('R$ 0.05');
    expect(formatMoney(123456n, 'BRL')).toBe('R$ 1,234.56');
    expect(formatMoney(-250n, 'BRL')).toBe('-R$ 2.50');
  });

  it('given points, then shows whole points', () => {
    expect(formatMoney(0n, 'PTS')).toBe('0 PTS');
    expect(formatMoney(1_000_000n, 'PTS')).toBe('1,000,000 PTS');
    expect(formatMoney(-42n, 'PTS')).toBe('-42 PTS');
  });

  it('given an amount beyond float precision, then no digit is lost', () => {
    expect(formatMoney(9_007_199_254_740_993n, 'BRL')).toBe('R$ 90,071,992,547,409.93');
  });

  it('given an unknown currency code, then shows the code after the amount', () => {
    expect(formatMoney(199n, 'GBP')).toBe('1.99 GBP');
  });
});

describe('parseStake', () => {
  it('given BRL text, then converts to cents exactly', () => {
    expect(parseStake('12.5', 'BRL')).toEqual({ ok: true, stakeMinor: 1250n });
    expect(parseStake(' 10 ', 'BRL')).toEqual({ ok: true, stakeMinor: 1000n });
    expect(parseStake('0,01', 'BRL')).toEqual({ ok: true, stakeMinor: 1n });
  });

  it('given PTS, then only whole points are accepted', () => {
    expect(parseStake('100', 'PTS')).toEqual({ ok: true, stakeMinor: 100n });
    expect(parseStake('1.5', 'PTS').ok).toBe(false);
  });

  it('given junk, zero or too many decimals, then refuses with a reason', () => {
    for (const bad of ['', 'abc', '1.234', '-5', '0', '0.00']) {
      const result = parseStake(bad, 'BRL');
      expect(result.ok, bad).toBe(false);
      if (!result.ok) expect(result.message).not.toBe('');
    }
  });
});

describe('formatOdds', () => {
  it('given empty odds, then shows a dash', () => {
    expect(formatOdds('')).toBe('—');
    expect(formatOdds(undefined)).toBe('—');
  });

  it('given odds, then shows exactly two decimals without rounding through floats', () => {
    expect(formatOdds('2.35')).toBe('2.35');
    expect(formatOdds('2.5')).toBe('2.50');
    expect(formatOdds('3')).toBe('3.00');
    expect(formatOdds('1000.00')).toBe('1000.00');
    expect(formatOdds('1.999')).toBe('1.99');
  });
});

describe('mergeOdds (version merge)', () => {
  it('given no snapshot yet, then takes the incoming one', () => {
    expect(mergeOdds(undefined, odds(3n))).toEqual(odds(3n));
  });

  it('given a newer snapshot, then replaces; an older or equal one is dropped', () => {
    const shown = odds(5n, '2.10');
    expect(mergeOdds(shown, odds(6n, '2.20')).version).toBe(6n);
    expect(mergeOdds(shown, odds(4n, '9.99'))).toBe(shown);
    expect(mergeOdds(shown, odds(5n, '9.99'))).toBe(shown);
  });

  it('given snapshots arriving in any order, then the newest wins', () => {
    const versions = [4n, 1n, 7n, 3n, 7n, 2n, 6n];
    const final = versions.reduce<MarketOdds | undefined>(
      (held, v) => mergeOdds(held, odds(v)),
      undefined,
    );
    expect(final?.version).toBe(7n);
  });

  it('given a map, then only the market concerned changes, and a stale push keeps the same map', () => {
    let map: ReadonlyMap<string, MarketOdds> = new Map();
    map = mergeOddsInto(map, odds(2n, '2.00', 'a'));
    map = mergeOddsInto(map, odds(9n, '3.00', 'b'));
    const before = map;
    expect(mergeOddsInto(map, odds(1n, '5.00', 'a'))).toBe(before);
    map = mergeOddsInto(map, odds(3n, '2.50', 'a'));
    expect(map.get('a')?.outcomes[0]?.decimalOdds).toBe('2.50');
    expect(map.get('b')?.version).toBe(9n);
  });

  it('given a market from ListMarkets, then its embedded figures become a snapshot at its odds version', () => {
    const market = create(MarketSchema, {
      marketId: 'm1',
      currency: 'PTS',
      oddsVersion: 4n,
      totalStakedMinor: 300n,
      outcomes: [
        { outcomeId: 'o1', title: 'Yes', stakedMinor: 100n, decimalOdds: '2.80' },
        { outcomeId: 'o2', title: 'No', stakedMinor: 200n, decimalOdds: '1.40' },
      ],
    });
    const snapshot = oddsFromMarket(market);
    expect(snapshot.version).toBe(4n);
    expect(snapshot.outcomes.map((o) => o.decimalOdds)).toEqual(['2.80', '1.40']);
    expect(mergeOdds(snapshot, odds(3n)).version).toBe(4n);
  });
});

describe('applyMarketTransition', () => {
  const market = create(MarketSchema, { marketId: 'm1', state: MarketState.OPEN, version: 2n });

  it('given a newer lock, then the market is locked', () => {
    const next = applyMarketTransition(market, {
      marketId: 'm1',
      state: MarketState.LOCKED,
      version: 3n,
      atMs: 10n,
    });
    expect(next.state).toBe(MarketState.LOCKED);
    expect(next.lockedAtMs).toBe(10n);
  });

  it('given a resolution, then the winner is set', () => {
    const next = applyMarketTransition(market, {
      marketId: 'm1',
      state: MarketState.RESOLVED,
      version: 4n,
      winningOutcomeId: 'o2',
    });
    expect([next.state, next.winningOutcomeId]).toEqual([MarketState.RESOLVED, 'o2']);
  });

  it('given a stale or foreign event, then nothing changes', () => {
    expect(
      applyMarketTransition(market, { marketId: 'm1', state: MarketState.OPEN, version: 2n }),
    ).toBe(market);
    expect(
      applyMarketTransition(market, { marketId: 'other', state: MarketState.LOCKED, version: 9n }),
    ).toBe(market);
  });
});

describe('decodeRealtimeEvent', () => {
  it('given an OddsChanged push in protobuf JSON, then yields the snapshot with bigint figures', () => {
    const payload = toJson(
      OddsChangedSchema,
      create(OddsChangedSchema, { channelId: 'c1', odds: odds(12n, '1.85') }),
    );
    const update = decodeRealtimeEvent('streambet.events.v1.OddsChanged', payload);
    expect(update?.kind).toBe('odds');
    if (update?.kind === 'odds') {
      expect(update.odds.version).toBe(12n);
      expect(update.odds.outcomes[0]?.decimalOdds).toBe('1.85');
    }
  });

  it('given market lifecycle pushes, then yields transitions with versions', () => {
    const locked = decodeRealtimeEvent(
      'streambet.events.v1.MarketLocked',
      toJson(
        MarketLockedSchema,
        create(MarketLockedSchema, { marketId: 'm1', version: 3n, lockedAtMs: 5n }),
      ),
    );
    expect(locked).toEqual({
      kind: 'market',
      change: { marketId: 'm1', state: MarketState.LOCKED, version: 3n, atMs: 5n },
    });
    const resolved = decodeRealtimeEvent(
      'streambet.events.v1.MarketResolved',
      JSON.stringify(
        toJson(
          MarketResolvedSchema,
          create(MarketResolvedSchema, { marketId: 'm1', version: 4n, winningOutcomeId: 'o1' }),
        ),
      ),
    );
    expect(resolved?.kind === 'market' && resolved.change.winningOutcomeId).toBe('o1');
  });

  it('given malformed payloads or foreign events, then they are ignored', () => {
    expect(decodeRealtimeEvent('streambet.events.v1.OddsChanged', 'not json')).toBeUndefined();
    expect(decodeRealtimeEvent('streambet.events.v1.OddsChanged', [1, 2])).toBeUndefined();
    expect(
      decodeRealtimeEvent('streambet.events.v1.OddsChanged', { odds: { version: 'x' } }),
    ).toBeUndefined();
    expect(decodeRealtimeEvent('chat:message', { text: 'hi', sentAtMs: 'soon' })).toBeUndefined();
    expect(decodeRealtimeEvent('presence:update', { text: 'hi' })).toBeUndefined();
  });

  it('given chat:history in camelCase (the JSON mapping), then yields the channel and its messages', () => {
    const message = toJson(
      ChatMessageSchema,
      create(ChatMessageSchema, {
        messageId: 'msg1',
        channelId: 'c1',
        userId: 'u1',
        displayName: 'Bia',
        text: 'hello',
        sentAtMs: 7n,
      }),
    );
    const payload: ChatHistoryPayload = {
      channelId: 'c1',
      messages: [message as unknown as ChatMessageJson],
    };
    const update = decodeRealtimeEvent(serverEvents.chatHistory, payload);
    expect(update?.kind).toBe('chat-history');
    if (update?.kind === 'chat-history') {
      expect(update.channelId).toBe('c1');
      expect(update.messages.map((m) => [m.displayName, m.text, m.sentAtMs])).toEqual([
        ['Bia', 'hello', 7n],
      ]);
    }
    // The old snake_case shape is not the protocol any more.
    expect(decodeChatHistory({ channel_id: 'c1', messages: [] })).toBeUndefined();
  });

  it("given one of the user's own events, then asks for a reload of wallet and bets", () => {
    // The payload rides along: wallet.* pushes carry balances with their ledger sequence.
    expect(decodeRealtimeEvent('streambet.events.v1.HoldPlaced', { a: 1 })).toEqual({
      kind: 'user',
      eventName: 'streambet.events.v1.HoldPlaced',
      payload: { a: 1 },
    });
  });
});

describe('words for people', () => {
  it('given a rejection detail, then the message names the reason and the amounts', () => {
    const funds = create(BetRejectionSchema, {
      reason: BetRejectionReason.INSUFFICIENT_FUNDS,
      availableMinor: 1250n,
      currency: 'BRL',
    });
    expect(rejectionMessage(Code.FailedPrecondition, funds, 'x')).toBe(
      'Not enough funds: you have R$ 12.50 available.',
    );
    const noAmount = create(BetRejectionSchema, { reason: BetRejectionReason.INSUFFICIENT_FUNDS });
    expect(rejectionMessage(Code.FailedPrecondition, noAmount, 'x')).toBe(
      'Not enough funds available for this stake.',
    );
    const min = create(BetRejectionSchema, {
      reason: BetRejectionReason.STAKE_BELOW_MIN,
      limitMinor: 10n,
      currency: 'PTS',
    });
    expect(rejectionMessage(Code.InvalidArgument, min, 'x')).toBe(
      'The stake is below the minimum of 10 PTS.',
    );
    const closed = create(BetRejectionSchema, { reason: BetRejectionReason.BETTING_CLOSED });
    expect(rejectionMessage(Code.FailedPrecondition, closed, 'x')).toBe(
      'Betting on this market has closed.',
    );
    const excluded = create(BetRejectionSchema, {
      reason: BetRejectionReason.SELF_EXCLUDED,
      untilMs: 0n,
    });
    expect(rejectionMessage(Code.PermissionDenied, excluded, '')).toBe(
      'You are self-excluded permanently.',
    );
  });

  it('given no detail, then the code decides, falling back to the server message', () => {
    expect(rejectionMessage(Code.Unauthenticated, undefined, 'jwt expired')).toBe(
      'Your session has ended; log in again.',
    );
    expect(rejectionMessage(Code.NotFound, undefined, 'market m1 not found')).toBe(
      'market m1 not found',
    );
  });

  it('given statuses, countdowns and token expiry, then the figures shown are right', () => {
    expect(betStatusLabel(BetStatus.ACCEPTED)).toBe('Confirmed');
    expect(betStatusLabel(BetStatus.WON)).toBe('Won');
    expect(countdownText(65_000n, 0)).toBe('1:05');
    expect(countdownText(1_000n, 1_000)).toBe('closed');
    expect(countdownText(0n, 0)).toBe('');
    expect(refreshDelayMs(100_000n, 0)).toBe(70_000);
    expect(refreshDelayMs(10_000n, 0)).toBe(0);
  });

  it('given two clicks, then two different idempotency keys', () => {
    expect(newIdempotencyKey()).not.toBe(newIdempotencyKey());
    expect(newIdempotencyKey(() => 'fixed')).toBe('fixed');
  });
});
