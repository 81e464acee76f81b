/**
 * Who and where a channel is: its name, owner and platform links (IntegrationService.GetChannel,
 * public). Loaded once per channel page and again every minute, so a link added while the page
 * is open shows up; a channel the integration service does not know yet (a demo channel seeded
 * by hand) simply has no links.
 */
import { useEffect, useState } from 'react';
import type { Channel } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import type { Api } from '@streambet/client';
import { useInterval } from '../hooks.js';

/** What the channel page shows of the channel itself. */
export interface ChannelInfo {
  /** Undefined until loaded or when the channel has no link. */
  readonly channel: Channel | undefined;
  /** Every link of the channel, one per platform, the earliest first. */
  readonly links: readonly Channel[];
}

/** Loads `channelId`'s links. */
export function useChannelInfo(api: Api, channelId: string): ChannelInfo {
  const [info, setInfo] = useState<ChannelInfo & { readonly channelId: string }>({
    channelId,
    channel: undefined,
    links: [],
  });
  const [round, setRound] = useState(0);
  useInterval(() => setRound((r) => r + 1), 60_000);
  useEffect(() => {
    let stale = false;
    api.channels
      .getChannel({ channelId })
      .then((res) => {
        if (stale) return;
        const links = res.links.length > 0 ? res.links : res.channel ? [res.channel] : [];
        setInfo({ channelId, channel: res.channel, links });
      })
      .catch(() => {
        // NOT_FOUND (not linked) or unreachable: the page works without the stream.
      });
    return () => {
      stale = true;
    };
  }, [api, channelId, round]);
  return info.channelId === channelId ? info : { channel: undefined, links: [] };
}
