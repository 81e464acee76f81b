/**
 * The console's market column: the form that opens a market (or saves it as a template), the
 * templates, and the channel's markets with live odds and their controls. Markets and odds come
 * from the channel's live feed (use-channel.ts, the same the viewers' page uses); what this
 * console changes itself is shown at once from the RPC's answer (the higher version wins).
 */
import { useCallback, useEffect, useState } from 'react';
import { MarketState, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { MarketTemplate } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api, Session } from '@streambet/client';
import { errorText, useNow } from '../hooks.js';
import { useChannel } from '../use-channel.js';
import { MarketFormPanel } from './market-form.js';
import { StudioMarket } from './studio-market.js';
import { TemplatesPanel } from './templates-panel.js';

/** Props of {@link MarketsSection}. */
export interface MarketsSectionProps {
  readonly api: Api;
  readonly origin: string;
  readonly session: Session;
  readonly channelId: string;
  readonly onUserEvent: () => void;
}

/** Markets of one channel, and how the streamer opens and runs them. */
export function MarketsSection(props: MarketsSectionProps) {
  const { api, channelId } = props;
  const channel = useChannel({
    api,
    origin: props.origin,
    channelId,
    token: props.session.tokens.accessToken,
    userId: props.session.user.userId,
    onUserEvent: props.onUserEvent,
  });
  const nowMs = useNow();
  const [mine, setMine] = useState<ReadonlyMap<string, Market>>(new Map());
  const [templates, setTemplates] = useState<readonly MarketTemplate[]>([]);
  const [templatesError, setTemplatesError] = useState<string>();
  const [loadedTemplate, setLoadedTemplate] = useState<MarketTemplate>();

  const remember = useCallback((market: Market) => {
    setMine((held) => {
      const known = held.get(market.marketId);
      if (known !== undefined && known.version >= market.version) return held;
      return new Map(held).set(market.marketId, market);
    });
  }, []);

  const [templatesRound, setTemplatesRound] = useState(0);
  const reloadTemplates = useCallback(() => setTemplatesRound((r) => r + 1), []);
  const [loads, setLoads] = useState(0);

  useEffect(() => {
    let stale = false;
    api.pool
      .listMarketTemplates({ channelId })
      .then((res) => {
        if (stale) return;
        setTemplates(res.templates);
        setTemplatesError(undefined);
      })
      .catch((e: unknown) => {
        if (!stale) setTemplatesError(errorText(e));
      });
    return () => {
      stale = true;
    };
  }, [api, channelId, templatesRound]);

  // The feed's markets, each replaced by this console's own answer when that one is newer.
  const byId = new Map(channel.markets.map((m) => [m.marketId, m]));
  for (const [id, market] of mine) {
    const fed = byId.get(id);
    if (fed === undefined || fed.version < market.version) byId.set(id, market);
  }
  const rank = (m: Market) =>
    m.state === MarketState.OPEN ? 0 : m.state === MarketState.LOCKED ? 1 : 2;
  const markets = [...byId.values()].sort(
    (a, b) => rank(a) - rank(b) || Number(b.createdAtMs - a.createdAtMs),
  );

  return (
    <>
      <MarketFormPanel
        key={loads}
        api={api}
        channelId={channelId}
        template={loadedTemplate}
        onOpened={remember}
        onTemplateSaved={reloadTemplates}
      />
      <TemplatesPanel
        api={api}
        templates={templates}
        error={templatesError}
        onOpened={(market) => {
          remember(market);
          reloadTemplates();
        }}
        onLoad={(template) => {
          setLoadedTemplate(template);
          setLoads((n) => n + 1);
        }}
        onChanged={reloadTemplates}
      />
      <section className="studio-markets" aria-labelledby="studio-markets-title">
        <div className="row between">
          <h2 id="studio-markets-title">Markets</h2>
          <span className={`live-dot ${channel.live ? 'on' : 'off'}`} data-testid="studio-live">
            {channel.live ? 'Live' : 'Updating'}
          </span>
        </div>
        {channel.error !== undefined && <p className="error">{channel.error}</p>}
        {channel.loaded && markets.length === 0 && (
          <p className="muted panel">No markets yet: open one above.</p>
        )}
        {markets.map((market) => (
          <StudioMarket
            key={market.marketId}
            api={api}
            market={market}
            odds={channel.odds.get(market.marketId)}
            nowMs={nowMs}
            onChanged={remember}
          />
        ))}
      </section>
    </>
  );
}
