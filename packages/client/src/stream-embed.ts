/**
 * The stream itself beside the markets: each platform's documented embeddable player, built from
 * a channel link (platform + handle or platform id). Pure, so web and React Native (a WebView)
 * share it and unit tests pin every parameter.
 *
 * - Twitch: `https://player.twitch.tv/?channel=<login>&parent=<host>` — Twitch refuses to play
 *   unless `parent` names the embedding page's host (one `parent` per host, no port, no scheme).
 * - Kick: `https://player.kick.com/<slug>`.
 * - YouTube: `https://www.youtube-nocookie.com/embed/live_stream?channel=<UC…>` — the channel's
 *   current live broadcast, from the privacy-enhanced domain (no cookies until the viewer plays).
 *
 * Players start muted with autoplay: browsers block autoplay with sound, and a viewer who came to
 * bet should not be surprised by audio.
 */
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';

/** The parts of an integration Channel (link) the player needs. */
export interface StreamLink {
  readonly platform: Platform;
  /** Twitch login, Kick slug, YouTube @handle. */
  readonly handle: string;
  /** Twitch/Kick user id (digits), YouTube channel id (`UC` + 22 chars). */
  readonly platformChannelId: string;
  readonly displayName: string;
}

/** A player the page can show. */
export interface StreamEmbed {
  readonly platform: Platform;
  /** Label for the platform switch and the iframe's title. */
  readonly platformName: string;
  readonly src: string;
  /** The iframe `allow` list each player documents for autoplay and fullscreen. */
  readonly allow: string;
}

const twitchLogin = /^[a-zA-Z0-9_]{1,25}$/;
const kickSlug = /^[a-zA-Z0-9_-]{1,64}$/;
const youtubeChannelId = /^UC[a-zA-Z0-9_-]{22}$/;

/** The platform's name as viewers know it. */
export function platformName(platform: Platform): string {
  switch (platform) {
    case Platform.TWITCH:
      return 'Twitch';
    case Platform.KICK:
      return 'Kick';
    case Platform.YOUTUBE:
      return 'YouTube';
    default:
      return 'Stream';
  }
}

/**
 * The embeddable player of `link`, for a page served from `pageHost` (hostname only, e.g.
 * `streambet.example` or `127.0.0.1`); undefined when the link cannot be embedded (an unknown
 * platform, or a handle/id of the wrong shape — never pasted into a URL unchecked).
 */
export function streamEmbed(link: StreamLink, pageHost: string): StreamEmbed | undefined {
  const name = platformName(link.platform);
  switch (link.platform) {
    case Platform.TWITCH: {
      if (!twitchLogin.test(link.handle) || pageHost === '') return undefined;
      const params = new URLSearchParams({
        channel: link.handle.toLowerCase(),
        parent: pageHost,
        muted: 'true',
        autoplay: 'true',
      });
      return {
        platform: link.platform,
        platformName: name,
        src: `https://player.twitch.tv/?${params.toString()}`,
        allow: 'autoplay; fullscreen',
      };
    }
    case Platform.KICK: {
      if (!kickSlug.test(link.handle)) return undefined;
      const params = new URLSearchParams({ muted: 'true', autoplay: 'true' });
      return {
        platform: link.platform,
        platformName: name,
        src: `https://player.kick.com/${encodeURIComponent(link.handle.toLowerCase())}?${params.toString()}`,
        allow: 'autoplay; fullscreen',
      };
    }
    case Platform.YOUTUBE: {
      if (!youtubeChannelId.test(link.platformChannelId)) return undefined;
      const params = new URLSearchParams({
        channel: link.platformChannelId,
        autoplay: '1',
        mute: '1',
      });
      return {
        platform: link.platform,
        platformName: name,
        src: `https://www.youtube-nocookie.com/embed/live_stream?${params.toString()}`,
        allow: 'autoplay; encrypted-media; picture-in-picture; fullscreen',
      };
    }
    default:
      return undefined;
  }
}

/** Every embeddable player of a channel's links, one per platform, in the links' order. */
export function streamEmbeds(links: readonly StreamLink[], pageHost: string): StreamEmbed[] {
  const seen = new Set<Platform>();
  const embeds: StreamEmbed[] = [];
  for (const link of links) {
    if (seen.has(link.platform)) continue;
    const embed = streamEmbed(link, pageHost);
    if (embed === undefined) continue;
    seen.add(link.platform);
    embeds.push(embed);
  }
  return embeds;
}
