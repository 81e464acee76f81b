/**
 * The stream beside the markets: the linked platform's own embedded player. When the channel is
 * linked on several platforms the viewer picks one (a group of toggle buttons); the choice is kept
 * for the page's life. The iframe is lazy and sandboxed to what the players document they need.
 */
import { useState } from 'react';
import type { Channel } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { LiveState } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import type { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { streamEmbeds } from '@streambet/client/view';

/** Props of {@link StreamPlayer}. */
export interface StreamPlayerProps {
  readonly links: readonly Channel[];
  /** The page's hostname (Twitch's `parent`). */
  readonly pageHost: string;
}

/** The player of the chosen platform, or nothing when the channel has no embeddable link. */
export function StreamPlayer({ links, pageHost }: StreamPlayerProps) {
  const embeds = streamEmbeds(links, pageHost);
  // The first live link is the natural choice; otherwise the earliest link.
  const liveFirst = links.find((l) => l.liveState === LiveState.LIVE)?.platform;
  const [chosen, setChosen] = useState<Platform | undefined>(undefined);
  if (embeds.length === 0) return null;
  const current =
    embeds.find((e) => e.platform === chosen) ??
    embeds.find((e) => e.platform === liveFirst) ??
    embeds[0]!;
  const link = links.find((l) => l.platform === current.platform);
  return (
    <section className="panel stream" aria-label="Stream" data-testid="stream">
      {embeds.length > 1 && (
        <div className="stream-switch" role="group" aria-label="Watch on">
          {embeds.map((e) => (
            <button
              key={e.platform}
              type="button"
              aria-pressed={e.platform === current.platform}
              data-testid={`stream-switch-${e.platformName.toLowerCase()}`}
              onClick={() => setChosen(e.platform)}
            >
              {e.platformName}
              {links.find((l) => l.platform === e.platform)?.liveState === LiveState.LIVE
                ? ' · live'
                : ''}
            </button>
          ))}
        </div>
      )}
      <div className="stream-frame">
        <iframe
          key={current.src}
          src={current.src}
          title={`${link?.displayName ?? 'Channel'} on ${current.platformName}`}
          data-testid="stream-player"
          data-platform={current.platformName.toLowerCase()}
          allow={current.allow}
          allowFullScreen
          loading="lazy"
          referrerPolicy="strict-origin-when-cross-origin"
        />
      </div>
    </section>
  );
}
