/**
 * A local fake of the YouTube Data API v3 endpoints this service calls, with their documented
 * response shapes (`kind`, `items`, `pageInfo`; errors as `{error: {code, message, errors:
 * [{reason}]}}`): GET /channels?part=snippet,contentDetails&id=, GET
 * /playlistItems?part=contentDetails&playlistId=, GET /videos?part=snippet,liveStreamingDetails&id=
 * and, only to count that nobody calls it, /search. Every call needs `key`. Tests and the demo add
 * channels and start or end live broadcasts; it counts the quota units spent per endpoint.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface FakeVideo {
  id: string;
  title: string;
  liveBroadcastContent: 'live' | 'none' | 'upcoming';
  actualStartTime?: string;
  actualEndTime?: string;
}

interface FakeChannel {
  id: string;
  title: string;
  handle: string;
  /** Newest first. */
  uploads: FakeVideo[];
}

/** The running fake. */
export interface YoutubeFake {
  /** Base URL to configure as INTEGRATION_YOUTUBE_API_URL. */
  readonly url: string;
  /** Adds a channel ("UC" + 22 chars). */
  addChannel(id: string, title: string, handle: string): void;
  /** Starts a live broadcast on the channel; returns its video id. */
  goLive(channelId: string, title: string, startedAtMs: number): string;
  /** Ends the channel's live broadcast at `endedAtMs`. */
  endLive(channelId: string, endedAtMs: number): void;
  /** Answers 503 to everything (or recovers). */
  setDown(down: boolean): void;
  /** Quota units spent, by endpoint (channels, playlistItems, videos, search). */
  readonly units: Map<string, number>;
  close(): Promise<void>;
}

const unitCost: Record<string, number> = { channels: 1, playlistItems: 1, videos: 1, search: 100 };

/** Starts the fake on a free local port. */
export async function startYoutubeFake(): Promise<YoutubeFake> {
  const channels = new Map<string, FakeChannel>();
  const units = new Map<string, number>();
  let down = false;
  let videoSeq = 0;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(body));
    };
    const fail = (code: number, reason: string, message: string) =>
      send(code, { error: { code, message, errors: [{ reason, domain: 'youtube', message }] } });
    if (down) return fail(503, 'backendError', 'Backend Error');
    if ((url.searchParams.get('key') ?? '') === '') {
      return fail(403, 'forbidden', 'The request is missing a valid API key.');
    }
    const endpoint = url.pathname.replace(/^\//, '');
    units.set(endpoint, (units.get(endpoint) ?? 0) + (unitCost[endpoint] ?? 0));
    const list = (kind: string, items: unknown[]) =>
      send(200, {
        kind: `youtube#${kind}ListResponse`,
        etag: 'fake',
        pageInfo: { totalResults: items.length, resultsPerPage: items.length },
        items,
      });
    switch (endpoint) {
      case 'channels': {
        const ids = (url.searchParams.get('id') ?? '').split(',');
        return list(
          'channel',
          ids
            .map((id) => channels.get(id))
            .filter((c) => c !== undefined)
            .map((c) => ({
              kind: 'youtube#channel',
              etag: 'fake',
              id: c.id,
              snippet: {
                title: c.title,
                description: '',
                customUrl: c.handle,
                publishedAt: '2020-01-01T00:00:00Z',
                thumbnails: { default: { url: `https://yt3.example/${c.id}.jpg` } },
              },
              contentDetails: { relatedPlaylists: { likes: '', uploads: `UU${c.id.slice(2)}` } },
            })),
        );
      }
      case 'playlistItems': {
        const playlist = url.searchParams.get('playlistId') ?? '';
        const channel = channels.get(`UC${playlist.slice(2)}`);
        if (channel === undefined) {
          return fail(
            404,
            'playlistNotFound',
            'The playlist identified with the request cannot be found.',
          );
        }
        const max = Number(url.searchParams.get('maxResults') ?? '5');
        return list(
          'playlistItem',
          channel.uploads.slice(0, max).map((v) => ({
            kind: 'youtube#playlistItem',
            etag: 'fake',
            id: `item-${v.id}`,
            contentDetails: { videoId: v.id },
          })),
        );
      }
      case 'videos': {
        const ids = new Set((url.searchParams.get('id') ?? '').split(','));
        const videos = [...channels.values()]
          .flatMap((c) => c.uploads)
          .filter((v) => ids.has(v.id));
        return list(
          'video',
          videos.map((v) => ({
            kind: 'youtube#video',
            etag: 'fake',
            id: v.id,
            snippet: { title: v.title, liveBroadcastContent: v.liveBroadcastContent },
            liveStreamingDetails: {
              ...(v.actualStartTime === undefined ? {} : { actualStartTime: v.actualStartTime }),
              ...(v.actualEndTime === undefined ? {} : { actualEndTime: v.actualEndTime }),
            },
          })),
        );
      }
      default:
        return fail(404, 'notFound', `no endpoint ${endpoint} in the fake`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    units,
    addChannel(id, title, handle) {
      channels.set(id, { id, title, handle, uploads: [] });
    },
    goLive(channelId, title, startedAtMs) {
      const channel = channels.get(channelId);
      if (channel === undefined) throw new Error(`no fake YouTube channel ${channelId}`);
      videoSeq += 1;
      const id = `live${String(videoSeq).padStart(7, '0')}`;
      channel.uploads.unshift({
        id,
        title,
        liveBroadcastContent: 'live',
        actualStartTime: new Date(startedAtMs).toISOString(),
      });
      return id;
    },
    endLive(channelId, endedAtMs) {
      const live = channels.get(channelId)?.uploads.find((v) => v.liveBroadcastContent === 'live');
      if (live === undefined) return;
      live.liveBroadcastContent = 'none';
      live.actualEndTime = new Date(endedAtMs).toISOString();
    },
    setDown(value) {
      down = value;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
