/**
 * Market templates on PGlite and PostgreSQL: a streamer saves a definition (CreateMarket's rules
 * apply at save), lists, replaces by name or id, deletes, and opens a market from one in one
 * idempotent call (OPEN at once, MarketCreated + MarketOpened); only the channel's owner or an
 * admin may; a template flagged open_on_stream_online opens one market per stream, whatever the
 * number of platforms that report the stream online, and a redelivered event opens nothing more.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { StreamWentOnlineSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import {
  MarketCreatedSchema,
  MarketOpenedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import {
  MarketKind,
  MarketState,
  type SaveMarketTemplateRequestSchema,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { testLogger } from '@streambet/testkit/rpc';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTemplateTriggerConsumer } from '../src/template-trigger.js';
import { createTemplateStore } from '../src/templates.js';
import { createHarness, failure, type Harness } from './harness.js';

type SaveInit = MessageInitShape<typeof SaveMarketTemplateRequestSchema>;

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'market templates on %s',
  (_name, target) => {
    let h: Harness;
    let channelCounter = 0;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h.dispose();
    });

    async function channel(platform = Platform.TWITCH) {
      channelCounter += 1;
      const channelId = `TPL${channelCounter}`;
      const ownerId = `tpl-streamer-${channelCounter}`;
      await h.linkChannel(channelId, ownerId, platform);
      return { channelId, ownerId, owner: await h.as(ownerId, 'streamer') };
    }

    function template(channelId: string, overrides: SaveInit = {}): SaveInit {
      return {
        channelId,
        name: 'Next round',
        title: 'Who wins the next round?',
        outcomeTitles: ['Blue', 'Red'],
        currency: 'PTS',
        kind: MarketKind.POOL,
        bettingWindowSeconds: 90,
        ...overrides,
      };
    }

    it('given a saved template, when the owner opens it twice with one key, then one OPEN market with its definition and two events exists', async () => {
      const { channelId, owner } = await channel();
      const saved = (
        await h.pool.saveMarketTemplate(
          template(channelId, {
            stakeLimits: {
              minStakeMinor: 10n,
              maxStakePerBetMinor: 500n,
              maxStakePerUserMinor: 1000n,
            },
          }),
          owner,
        )
      ).template!;
      expect(saved).toMatchObject({
        channelId,
        name: 'Next round',
        outcomeTitles: ['Blue', 'Red'],
        version: 1n,
        lastMarketId: '',
        openOnStreamOnline: false,
      });

      const first = await h.pool.openMarketFromTemplate(
        { templateId: saved.templateId, idempotencyKey: 'round-1' },
        owner,
      );
      const again = await h.pool.openMarketFromTemplate(
        { templateId: saved.templateId, idempotencyKey: 'round-1' },
        owner,
      );
      const market = first.market!;
      expect(again.market!.marketId).toBe(market.marketId);
      expect(market).toMatchObject({
        channelId,
        state: MarketState.OPEN,
        title: 'Who wins the next round?',
        currency: 'PTS',
        bettingWindowSeconds: 90,
        openedAtMs: BigInt(h.clock.now()),
        bettingClosesAtMs: BigInt(h.clock.now() + 90_000),
        stakeLimits: { minStakeMinor: 10n, maxStakePerBetMinor: 500n, maxStakePerUserMinor: 1000n },
      });
      expect(market.outcomes.map((o) => o.title)).toEqual(['Blue', 'Red']);
      const events = await h.outbox(market.marketId);
      expect(events.map((e) => e.type)).toEqual([
        MarketCreatedSchema.typeName,
        MarketOpenedSchema.typeName,
      ]);

      const listed = (await h.pool.listMarketTemplates({ channelId }, owner)).templates;
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({
        lastMarketId: market.marketId,
        lastOpenedAtMs: BigInt(h.clock.now()),
      });
      // A second key opens a second market from the same template.
      h.clock.advance(1000);
      const second = await h.pool.openMarketFromTemplate(
        { templateId: saved.templateId, idempotencyKey: 'round-2' },
        owner,
      );
      expect(second.market!.marketId).not.toBe(market.marketId);
    });

    it('given a template name, when saved again, then it is replaced in place and an identical save keeps its version', async () => {
      const { channelId, owner } = await channel();
      const first = (await h.pool.saveMarketTemplate(template(channelId), owner)).template!;
      const same = (await h.pool.saveMarketTemplate(template(channelId), owner)).template!;
      expect(same).toMatchObject({ templateId: first.templateId, version: 1n });
      h.clock.advance(5000);
      const replaced = (
        await h.pool.saveMarketTemplate(
          template(channelId, { name: '  NEXT ROUND ', outcomeTitles: ['Blue', 'Red', 'Draw'] }),
          owner,
        )
      ).template!;
      expect(replaced).toMatchObject({
        templateId: first.templateId,
        name: 'NEXT ROUND',
        version: 2n,
        outcomeTitles: ['Blue', 'Red', 'Draw'],
        updatedAtMs: BigInt(h.clock.now()),
      });
      // By id: rename, with a stale expected version refused, and no stealing another's name.
      const other = (
        await h.pool.saveMarketTemplate(template(channelId, { name: 'First blood' }), owner)
      ).template!;
      expect(
        (
          await failure(
            h.pool.saveMarketTemplate(
              template(channelId, { templateId: other.templateId, name: 'Next round' }),
              owner,
            ),
          )
        ).code,
      ).toBe(Code.AlreadyExists);
      expect(
        (
          await failure(
            h.pool.saveMarketTemplate(
              template(channelId, {
                templateId: other.templateId,
                name: 'First kill',
                expectedVersion: 7n,
              }),
              owner,
            ),
          )
        ).code,
      ).toBe(Code.Aborted);
      const renamed = (
        await h.pool.saveMarketTemplate(
          template(channelId, {
            templateId: other.templateId,
            name: 'First kill',
            expectedVersion: 1n,
          }),
          owner,
        )
      ).template!;
      expect(renamed).toMatchObject({
        templateId: other.templateId,
        name: 'First kill',
        version: 2n,
      });
      const names = (await h.pool.listMarketTemplates({ channelId }, owner)).templates.map(
        (t) => t.name,
      );
      expect(names).toEqual(['First kill', 'NEXT ROUND']);
    });

    it('given a definition CreateMarket would refuse, when saved, then it is refused with the same fields and nothing is stored', async () => {
      const { channelId, owner } = await channel();
      const bad = await failure(
        h.pool.saveMarketTemplate(
          template(channelId, {
            name: ' ',
            outcomeTitles: ['Yes', 'yes'],
            currency: 'EUR',
            bettingWindowSeconds: 10,
          }),
          owner,
        ),
      );
      expect(bad.code).toBe(Code.InvalidArgument);
      for (const field of ['name', 'outcome_titles[1]', 'currency', 'betting_window_seconds']) {
        expect(bad.message).toContain(field);
      }
      const oneOutcome = await failure(
        h.pool.saveMarketTemplate(template(channelId, { outcomeTitles: ['Only'] }), owner),
      );
      expect(oneOutcome.code).toBe(Code.InvalidArgument);
      const stakes = await failure(
        h.pool.saveMarketTemplate(
          template(channelId, {
            stakeLimits: {
              minStakeMinor: 50n,
              maxStakePerBetMinor: 10n,
              maxStakePerUserMinor: 100n,
            },
          }),
          owner,
        ),
      );
      expect(stakes.code).toBe(Code.InvalidArgument);
      // A streamer may not go below the channel's commission (default 500 bps in tests' settings).
      const commission = await failure(
        h.pool.saveMarketTemplate(template(channelId, { commissionBps: 0 }), owner),
      );
      expect(commission.code).toBe(Code.PermissionDenied);
      expect((await h.pool.listMarketTemplates({ channelId }, owner)).templates).toEqual([]);
    });

    it('given another streamer, a viewer or an unknown channel, when they use templates, then they are refused and an admin is not', async () => {
      const { channelId, owner } = await channel();
      const saved = (await h.pool.saveMarketTemplate(template(channelId), owner)).template!;
      const stranger = await h.as('someone-else', 'streamer');
      const viewer = await h.as('a-viewer', 'viewer');
      for (const caller of [stranger, viewer]) {
        expect((await failure(h.pool.saveMarketTemplate(template(channelId), caller))).code).toBe(
          Code.PermissionDenied,
        );
        expect((await failure(h.pool.listMarketTemplates({ channelId }, caller))).code).toBe(
          Code.PermissionDenied,
        );
        expect(
          (
            await failure(
              h.pool.openMarketFromTemplate(
                { templateId: saved.templateId, idempotencyKey: 'x' },
                caller,
              ),
            )
          ).code,
        ).toBe(Code.PermissionDenied);
        expect(
          (await failure(h.pool.deleteMarketTemplate({ templateId: saved.templateId }, caller)))
            .code,
        ).toBe(Code.PermissionDenied);
      }
      expect(
        (await failure(h.pool.saveMarketTemplate(template('NO-SUCH-CHANNEL'), owner))).code,
      ).toBe(Code.NotFound);
      expect(
        (
          await failure(
            h.pool.openMarketFromTemplate({ templateId: 'NO-SUCH', idempotencyKey: 'k' }, owner),
          )
        ).code,
      ).toBe(Code.NotFound);
      expect(
        (
          await failure(
            h.pool.openMarketFromTemplate(
              { templateId: saved.templateId, idempotencyKey: '' },
              owner,
            ),
          )
        ).code,
      ).toBe(Code.InvalidArgument);
      const admin = await h.as('an-admin', 'admin');
      const opened = await h.pool.openMarketFromTemplate(
        { templateId: saved.templateId, idempotencyKey: 'admin-1' },
        admin,
      );
      expect(opened.market!.state).toBe(MarketState.OPEN);
      // The owner's key space is their own: the admin's key does not replay for the owner.
      const other = (await h.pool.saveMarketTemplate(template(channelId, { name: 'Other' }), owner))
        .template!;
      await h.pool.openMarketFromTemplate(
        { templateId: saved.templateId, idempotencyKey: 'k1' },
        owner,
      );
      expect(
        (
          await failure(
            h.pool.openMarketFromTemplate(
              { templateId: other.templateId, idempotencyKey: 'k1' },
              owner,
            ),
          )
        ).code,
      ).toBe(Code.AlreadyExists);
    });

    it('given a template, when deleted twice, then the first deletes it, the second changes nothing and its markets stay', async () => {
      const { channelId, owner } = await channel();
      const saved = (await h.pool.saveMarketTemplate(template(channelId), owner)).template!;
      const market = (
        await h.pool.openMarketFromTemplate(
          { templateId: saved.templateId, idempotencyKey: 'before-delete' },
          owner,
        )
      ).market!;
      expect(
        (await h.pool.deleteMarketTemplate({ templateId: saved.templateId }, owner)).deleted,
      ).toBe(true);
      expect(
        (await h.pool.deleteMarketTemplate({ templateId: saved.templateId }, owner)).deleted,
      ).toBe(false);
      expect((await h.pool.listMarketTemplates({ channelId }, owner)).templates).toEqual([]);
      const kept = await h.pool.getMarket({ marketId: market.marketId }, owner);
      expect(kept.market!.state).toBe(MarketState.OPEN);
    });

    it('given 50 templates on a channel, when a 51st is saved, then it is refused while replacing one still works', async () => {
      const { channelId, owner } = await channel();
      for (let i = 0; i < 50; i += 1) {
        await h.pool.saveMarketTemplate(template(channelId, { name: `T${i}` }), owner);
      }
      const refused = await failure(
        h.pool.saveMarketTemplate(template(channelId, { name: 'T50' }), owner),
      );
      expect(refused.code).toBe(Code.FailedPrecondition);
      const replaced = await h.pool.saveMarketTemplate(
        template(channelId, { name: 'T7', title: 'Changed?' }),
        owner,
      );
      expect(replaced.template!.version).toBe(2n);
    });

    it('given open_on_stream_online, when the stream goes online on two platforms and an event is redelivered, then one market opens per stream', async () => {
      const { channelId, owner } = await channel();
      const auto = (
        await h.pool.saveMarketTemplate(
          template(channelId, { name: 'Auto', openOnStreamOnline: true }),
          owner,
        )
      ).template!;
      await h.pool.saveMarketTemplate(template(channelId, { name: 'Manual only' }), owner);
      const templates = createTemplateStore({ sql: h.db.sql, clock: h.clock, store: h.store });
      const consumer = createTemplateTriggerConsumer({ templates, logger: testLogger('pool') });
      if (!('handleIdempotently' in consumer)) throw new Error('expected an idempotent consumer');
      const online = (id: string, platform: Platform): EventEnvelope => ({
        id,
        topic: 'integration',
        key: channelId,
        type: StreamWentOnlineSchema.typeName,
        headers: {},
        occurredAtMs: h.clock.now(),
        payload: toBinary(
          StreamWentOnlineSchema,
          create(StreamWentOnlineSchema, {
            channelId,
            platform,
            startedAtMs: BigInt(h.clock.now()),
          }),
        ),
      });
      async function channelMarkets() {
        return (await h.pool.listMarkets({ channelId }, owner)).markets;
      }

      await consumer.handleIdempotently(online('ev-1', Platform.TWITCH));
      await consumer.handleIdempotently(online('ev-1', Platform.TWITCH));
      await consumer.handleIdempotently(online('ev-2', Platform.KICK));
      const markets = await channelMarkets();
      expect(markets).toHaveLength(1);
      expect(markets[0]).toMatchObject({
        state: MarketState.OPEN,
        title: 'Who wins the next round?',
      });
      const listed = (await h.pool.listMarketTemplates({ channelId }, owner)).templates;
      expect(listed.find((t) => t.templateId === auto.templateId)?.lastMarketId).toBe(
        markets[0]!.marketId,
      );

      // Once that market is over, the next stream opens a new one.
      await h.pool.cancelMarket({ marketId: markets[0]!.marketId, reason: 'stream ended' }, owner);
      h.clock.advance(60_000);
      await consumer.handleIdempotently(online('ev-3', Platform.TWITCH));
      const after = await channelMarkets();
      expect(after).toHaveLength(2);
      expect(after[0]!.state).toBe(MarketState.OPEN);
      expect(after[0]!.marketId).not.toBe(markets[0]!.marketId);
    });
  },
);
