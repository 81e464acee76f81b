/**
 * Live state of one channel's markets: loaded by RPC (ListMarkets, GetOdds), kept live by the
 * socket (odds snapshots and lifecycle events, newer versions only), and polled while the socket
 * is down — GetOdds every second, the market list every three seconds — so the page keeps moving
 * without realtime.
 */
import { useCallback, useEffect, useEffectEvent, useReducer, useRef, useState } from 'react';
import type { MarketOdds } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import type { ChatSettings } from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import { MarketState, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api } from '@streambet/client';
import {
  connectRealtime,
  type ChatSendAck,
  type RealtimeConnection,
  type RealtimeUpdate,
} from '@streambet/client/realtime';
import {
  addChatMessages,
  emptyChatLog,
  removeChatUser,
  type ChatLog,
  applyMarketTransition,
  mergeOddsInto,
  oddsFromMarket,
  type MarketTransition,
} from '@streambet/client/view';
import { errorText, useInterval } from './hooks.js';

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
  /** The channel's chat: the history sent on joining, then pushed messages. */
  readonly chat: ChatLog;
  /** The chat settings last pushed (undefined until a change is pushed or loaded). */
  readonly chatSettings: ChatSettings | undefined;
  /** Posts a chat message over the page's socket. */
  readonly sendChat: (text: string, clientMessageId: string) => Promise<ChatSendAck>;
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

/** The markets of one channel as loaded and pushed. */
interface MarketsState {
  readonly channelId: string;
  readonly markets: readonly Market[];
  readonly odds: ReadonlyMap<string, MarketOdds>;
  readonly error: string | undefined;
  readonly loaded: boolean;
}

type MarketsAction =
  | { readonly type: 'listed'; readonly channelId: string; readonly markets: readonly Market[] }
  | { readonly type: 'list-failed'; readonly channelId: string; readonly error: string }
  | { readonly type: 'odds'; readonly odds: MarketOdds }
  | { readonly type: 'transition'; readonly change: MarketTransition };

function emptyMarkets(channelId: string): MarketsState {
  return { channelId, markets: [], odds: new Map(), error: undefined, loaded: false };
}

function sortMarkets(markets: readonly Market[]): Market[] {
  const rank = (m: Market) =>
    m.state === MarketState.OPEN ? 0 : m.state === MarketState.LOCKED ? 1 : 2;
  return [...markets].sort((a, b) => rank(a) - rank(b) || Number(b.createdAtMs - a.createdAtMs));
}

function marketsReducer(state: MarketsState, action: MarketsAction): MarketsState {
  switch (action.type) {
    case 'listed': {
      // An answer for another channel starts that channel afresh.
      const base = action.channelId === state.channelId ? state : emptyMarkets(action.channelId);
      // A pushed lifecycle change may be newer than this answer: keep whichever version is higher.
      const markets = sortMarkets(
        action.markets.map((fresh) => {
          const held = base.markets.find((m) => m.marketId === fresh.marketId);
          return held !== undefined && held.version > fresh.version ? held : fresh;
        }),
      );
      const odds = action.markets.reduce(
        (map, m) => mergeOddsInto(map, oddsFromMarket(m)),
        base.odds,
      );
      return { ...base, markets, odds, error: undefined, loaded: true };
    }
    case 'list-failed':
      if (action.channelId !== state.channelId) return state;
      return { ...state, error: action.error, loaded: true };
    case 'odds': {
      const odds = mergeOddsInto(state.odds, action.odds);
      return odds === state.odds ? state : { ...state, odds };
    }
    case 'transition':
      return {
        ...state,
        markets: sortMarkets(state.markets.map((m) => applyMarketTransition(m, action.change))),
      };
  }
}

/** Loads and keeps live the markets of `channelId`. */
export function useChannel(options: UseChannelOptions): ChannelState {
  const { api, origin, channelId, token, userId } = options;
  const [held, dispatch] = useReducer(marketsReducer, channelId, emptyMarkets);
  // Until the first answer for a new channel arrives, show nothing of the previous one.
  const state = held.channelId === channelId ? held : emptyMarkets(channelId);
  const [live, setLive] = useState(false);
  const connection = useRef<RealtimeConnection | undefined>(undefined);
  const [chatHeld, setChat] = useState(() => emptyChatLog(channelId));
  const chat = chatHeld.channelId === channelId ? chatHeld : emptyChatLog(channelId);
  const [chatSettings, setChatSettings] = useState<ChatSettings>();

  const loadMarkets = useCallback(async () => {
    try {
      const res = await api.pool.listMarkets({
        channelId,
        states: shownStates,
        page: { pageSize: 20 },
      });
      dispatch({ type: 'listed', channelId, markets: res.markets });
    } catch (e) {
      dispatch({ type: 'list-failed', channelId, error: errorText(e) });
    }
  }, [api, channelId]);

  const marketIds = state.markets.map((m) => m.marketId).join(',');
  const activeIds = state.markets
    .filter((m) => m.state === MarketState.OPEN || m.state === MarketState.LOCKED)
    .map((m) => m.marketId)
    .join(',');

  const loadOdds = useCallback(async () => {
    const ids = activeIds === '' ? [] : activeIds.split(',');
    await Promise.all(
      ids.map(async (marketId) => {
        try {
          const res = await api.bets.getOdds({ marketId });
          if (res.odds) dispatch({ type: 'odds', odds: res.odds });
        } catch {
          // Odds stay as last shown; the next poll or push brings them.
        }
      }),
    );
  }, [api, activeIds]);

  const onUpdate = useEffectEvent((update: RealtimeUpdate) => {
    switch (update.kind) {
      case 'odds':
        dispatch({ type: 'odds', odds: update.odds });
        break;
      case 'market':
        dispatch({ type: 'transition', change: update.change });
        if (
          update.change.state === MarketState.RESOLVED ||
          update.change.state === MarketState.CANCELED
        ) {
          options.onUserEvent();
        }
        break;
      case 'market-created':
        if (update.channelId === channelId) void loadMarkets();
        break;
      case 'user':
        options.onUserEvent();
        break;
      case 'chat-history':
        setChat((log) =>
          addChatMessages(log.channelId === channelId ? log : emptyChatLog(channelId), [
            ...update.messages,
          ]),
        );
        break;
      case 'chat-message':
        setChat((log) =>
          addChatMessages(log.channelId === channelId ? log : emptyChatLog(channelId), [
            update.message,
          ]),
        );
        break;
      case 'chat-ban':
        setChat((log) => removeChatUser(log, update.channelId, update.userId));
        break;
      case 'chat-settings':
        setChatSettings(update.settings);
        break;
    }
  });
  const identityNow = useEffectEvent(() => ({ token, userId }));

  useEffect(() => {
    void loadMarkets();
  }, [loadMarkets]);

  // One socket per channel page; identity changes go through setToken.
  useEffect(() => {
    const conn = connectRealtime(origin, identityNow(), {
      onUpdate: (update) => onUpdate(update),
      onConnectedChange: setLive,
    });
    connection.current = conn;
    return () => {
      connection.current = undefined;
      conn.close();
      setLive(false);
    };
  }, [origin]);

  useEffect(() => {
    connection.current?.setToken(token, userId);
  }, [token, userId]);

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
  }, [live, loadOdds]);

  useInterval(() => void loadOdds(), live ? undefined : 1_000);
  useInterval(() => void loadMarkets(), live ? 30_000 : 3_000);

  const sendChat = useCallback(
    (text: string, clientMessageId: string): Promise<ChatSendAck> =>
      connection.current === undefined
        ? Promise.resolve({ ok: false, code: 'UNAVAILABLE', message: 'Chat is not connected.' })
        : connection.current.sendChat({ channelId, text, clientMessageId }),
    [channelId],
  );

  return {
    markets: state.markets,
    odds: state.odds,
    live,
    error: state.error,
    loaded: state.loaded,
    chat,
    chatSettings,
    sendChat,
  };
}
