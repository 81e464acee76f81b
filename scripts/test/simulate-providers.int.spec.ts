/**
 * `npm run simulate -- twitch|kick …` sends deliveries the receiver accepts: a stand-in gateway
 * passes them to the integration service's webhook receiver, and the linked channel's live state
 * follows (Twitch online then offline, Kick online).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { nextUlid } from '@streambet/testkit/ids';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { describe, expect, it } from 'vitest';
import { simulateKick } from '../simulate-kick.js';
import { simulateTwitch } from '../simulate-twitch.js';
import { createIntegrationTestService } from '@streambet/integration/testing';

describe.each(sqlTargets().map((t) => [t.name, t] as const))('simulate on %s', (_name, target) => {
  it('sends signed Twitch and Kick webhooks that change the channel', async () => {
    const db = await target.create();
    const t = await createIntegrationTestService({ sql: db.sql, tokens: await createTestTokens() });
    const gateway = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const provider = req.url === '/webhooks/kick' ? 'kick' : 'twitch';
        void t.receiver[provider](req.headers, new Uint8Array(Buffer.concat(chunks))).then((a) => {
          res.writeHead(a.status, { 'content-type': a.contentType });
          res.end(a.status === 204 ? undefined : a.body);
        });
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const previous = process.env.GATEWAY_URL;
    process.env.GATEWAY_URL = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    try {
      const link = async (platform: 'TWITCH' | 'KICK', id: string) => {
        const userId = nextUlid();
        const begun = await t.links.begin(
          { userId, admin: false },
          platform,
          'http://localhost:5173/cb',
        );
        const code = t.fakes.consent(begun.authorizeUrl, {
          id,
          login: `u${id}`,
          displayName: `u${id}`,
        });
        return t.links.linkOAuth({ userId, admin: false }, platform, code, begun.state);
      };
      const twitch = await link('TWITCH', '8080');
      const kick = await link('KICK', '9191');
      expect(await simulateTwitch(['stream-online', '8080'])).toBe(0);
      expect((await t.store.channel(twitch.channelId))?.liveState).toBe('LIVE');
      expect(await simulateTwitch(['stream-offline', '8080'])).toBe(0);
      expect((await t.store.channel(twitch.channelId))?.liveState).toBe('OFFLINE');
      expect(await simulateKick(['stream-online', '9191'])).toBe(0);
      expect((await t.store.channel(kick.channelId))?.liveState).toBe('LIVE');
      expect(t.verdicts.map((v) => v.verdict)).toEqual(['accepted', 'accepted', 'accepted']);
    } finally {
      if (previous === undefined) delete process.env.GATEWAY_URL;
      else process.env.GATEWAY_URL = previous;
      gateway.closeAllConnections();
      await new Promise((resolve) => gateway.close(resolve));
      await t.close();
      await db.dispose();
    }
  });
});
