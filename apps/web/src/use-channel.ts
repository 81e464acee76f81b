/**
 * Live state of one channel's markets: loaded by RPC (ListMarkets, GetOdds), kept live by the
 * socket (odds snapshots and lifecycle events, newer versions only), and polled while the socket
 * is down — GetOdds every second, the market list every three seconds — so the page keeps moving
 * without realtime.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { MarketOdds } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketState, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api } from './api.js';
import { errorText, useInterval } from './hooks.js';
import { connectRealtime, type RealtimeConnection } from './realtime.js';
import type { RealtimeUpdate } from './realtime-events.js';
import { applyMarketTransition, mergeOddsInto, oddsFromMarket } from './view-logic.js';

/** Markets shown: open ones first, then the latest locked, resolved and canceled ones. */
const shownStates = [
  MarketState.OPEN,
  MarketState.LOCKED,
  MarketState.RESOLVED,
  MarketState.CANCELED,
];

/** What the channel page renders. */
export interface ChannelState {
  readonly markets: readonly Market[];
  readonly odds: ReadonlyMap<string, MarketOdds>;
  readonly live: boolean;
  readonly error: string | undefined;
  readonly loaded: boolean;
}

/** Props of {@link useChannel}. */
export interface UseChannelOptions {
  readonly api: Api;
  readonly origin: string;
  readonly channelId: string;
  readonly token: string | undefined;
  readonly userId: string | undefined;
  /** Called for events of the signed-in user (bets, payouts, wallet) and on market resolution. */
  readonly onUserEvent: () => void;
}

function sortMarkets(markets: readonly Market[]): Market[] {
  const rank = (m: Market) =>
    m.state === MarketState.OPEN ? 0 : m.state === MarketState.LOCKED ? 1 : 2;
  return [...markets].sort((a, b) => rank(a) - rank(b) || Number(b.createdAtMs - a.createdAtMs));
}

/** Loads and keeps live the markets of `channelId`. */
export function useChannel(options: UseChannelOptions): ChannelState {
  const { api, origin, channelId, token, userId } = options;
  const [markets, setMarkets] = useState<readonly Market[]>([]);
  const [odds, setOdds] = useState<ReadonlyMap<string, MarketOdds>>(new Map());
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string>();
  const [loaded, setLoaded] = useState(false);
  const connection = useRef<RealtimeConnection | undefined>(undefined);
  const onUserEvent = useRef(options.onUserEvent);
  onUserEvent.current = options.onUserEvent;
  const identity = useRef({ token, userId });
  identity.current = { token, userId };
  const marketsRef = useRef(markets);
  marketsRef.current = markets;

  const loadMarkets = useCallback(async () => {
    try {
      const res = await api.pool.listMarkets({
        channelId,
        states: shownStates,
        page: { pageSize: 20 },
      });
      // A pushed lifecycle change may be newer than this answer: keep whichever version is higher.
      setMarkets((previous) =>
        sortMarkets(
          res.markets.map((fresh) => {
            const held = previous.find((m) => m.marketId === fresh.marketId);
            return held !== undefined && held.version > fresh.version ? held : fresh;
          }),
        ),
      );
      setOdds((previous) =>
        res.markets.reduce((map, m) => mergeOddsInto(map, oddsFromMarket(m)), previous),
      );
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setLoaded(true);
    }
  }, [api, channelId]);

  const loadOdds = useCallback(async () => {
    const active = marketsRef.current.filter(
      (m) => m.state === MarketState.OPEN || m.state === MarketState.LOCKED,
    );
    await Promise.all(
      active.map(async (m) => {
        try {
          const res = await api.bets.getOdds({ marketId: m.marketId });
          if (res.odds) {
            const snapshot = res.odds;
            setOdds((previous) => mergeOddsInto(previous, snapshot));
          }
        } catch {
          // Odds stay as last shown; the next poll or push brings them.
        }
      }),
    );
  }, [api]);

  const apply = useCallback(
    (update: RealtimeUpdate) => {
      switch (update.kind) {
        case 'odds':
          setOdds((previous) => mergeOddsInto(previous, update.odds));
          break;
        case 'market':
          setMarkets((previous) =>
            sortMarkets(previous.map((m) => applyMarketTransition(m, update.change))),
          );
          if (
            update.change.state === MarketState.RESOLVED ||
            update.change.state === MarketState.CANCELED
          ) {
            onUserEvent.current();
          }
          break;
        case 'market-created':
          if (update.channelId === channelId) void loadMarkets();
          break;
        case 'user':
          onUserEvent.current();
          break;
      }
    },
    [channelId, loadMarkets],
  );

  useEffect(() => {
    setMarkets([]);
    setOdds(new Map());
    setLoaded(false);
    void loadMarkets();
  }, [loadMarkets]);

  // One socket per channel page; identity changes go through setToken.
  useEffect(() => {
    const conn = connectRealtime(origin, identity.current, {
      onUpdate: apply,
      onConnectedChange: setLive,
    });
    connection.current = conn;
    return () => {
      connection.current = undefined;
      conn.close();
      setLive(false);
    };
  }, [origin, apply]);

  useEffect(() => {
    connection.current?.setToken(token, userId);
  }, [token, userId]);

  const marketIds = markets.map((m) => m.marketId).join(',');
  useEffect(() => {
    const rooms = [
      `channel:${channelId}`,
      ...marketIds
        .split(',')
        .filter((id) => id !== '')
        .map((id) => `market:${id}`),
    ];
    connection.current?.setRooms(rooms);
  }, [channelId, marketIds, live]);

  // Join first, then load (realtime.proto): after each (re)connect, fetch fresh odds once.
  useEffect(() => {
    if (live) void loadOdds();
  }, [live, loadOdds, marketIds]);

  useInterval(() => void loadOdds(), live ? undefined : 1_000);
  useInterval(() => void loadMarkets(), live ? 30_000 : 3_000);

  return { markets, odds, live, error, loaded };
}
