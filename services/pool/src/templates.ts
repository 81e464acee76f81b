/**
 * Market templates in SQL (`pool_market_templates`) and the markets opened from them
 * (`pool_template_launches`). A save runs under the channel's row lock (so the per-channel limit
 * and the unique name hold under concurrent saves); opening a market from a template is the
 * store's CreateMarket (same idempotency, same rules, same events) with the launch row written in
 * the market's own transaction.
 */
import { createHash, randomBytes } from 'node:crypto';
import { quoteInput } from '@streambet/platform/errors/quote-input';
import {
  AlreadyExistsError,
  IllegalStateError,
  NotFoundError,
} from '@streambet/platform/errors/domain-errors';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import { actorUserId, assertCanManage, type Actor, type Market } from './domain/market.js';
import {
  assertTemplateVersion,
  foldName,
  MAX_TEMPLATES_PER_CHANNEL,
  sameTemplate,
  templateCommand,
  validateTemplate,
  type MarketTemplate,
  type TemplateDefinition,
} from './domain/template.js';
import type { PoolStore } from './store.js';

/** What started a market from a template. */
export type LaunchTrigger = 'MANUAL' | 'STREAM_ONLINE';

/** A save (see {@link createTemplateStore}'s `save`). */
export interface SaveTemplateInput {
  readonly actor: Actor;
  readonly channelId: string;
  /** '' creates, or replaces the channel's template of the same name. */
  readonly templateId: string;
  readonly name: string;
  readonly definition: TemplateDefinition;
  readonly openOnStreamOnline: boolean;
  readonly expectedVersion: number;
}

interface DefinitionJson {
  title: string;
  outcomeTitles: string[];
  currency: string;
  kind: TemplateDefinition['kind'];
  stakeLimits: [string, string, string] | null;
  bettingWindowSeconds: number | null;
  commissionBps: number | null;
  autoLockOnOffline: boolean | null;
}

function definitionToJson(definition: TemplateDefinition): DefinitionJson {
  const limits = definition.stakeLimits;
  return {
    title: definition.title,
    outcomeTitles: [...definition.outcomeTitles],
    currency: definition.currency,
    kind: definition.kind,
    stakeLimits:
      limits === undefined
        ? null
        : [
            limits.minStakeMinor.toString(),
            limits.maxStakePerBetMinor.toString(),
            limits.maxStakePerUserMinor.toString(),
          ],
    bettingWindowSeconds: definition.bettingWindowSeconds ?? null,
    commissionBps: definition.commissionBps ?? null,
    autoLockOnOffline: definition.autoLockOnOffline ?? null,
  };
}

function definitionFromJson(json: DefinitionJson): TemplateDefinition {
  return {
    title: json.title,
    outcomeTitles: json.outcomeTitles,
    currency: json.currency,
    kind: json.kind,
    stakeLimits:
      json.stakeLimits === null
        ? undefined
        : {
            minStakeMinor: BigInt(json.stakeLimits[0]),
            maxStakePerBetMinor: BigInt(json.stakeLimits[1]),
            maxStakePerUserMinor: BigInt(json.stakeLimits[2]),
          },
    bettingWindowSeconds: json.bettingWindowSeconds ?? undefined,
    commissionBps: json.commissionBps ?? undefined,
    autoLockOnOffline: json.autoLockOnOffline ?? undefined,
  };
}

/** Columns of a template with its latest launch. */
const SELECT_TEMPLATE = `
  SELECT t.*, l.market_id AS last_market_id, l.launched_at_ms AS last_opened_at_ms
  FROM pool_market_templates t
  LEFT JOIN LATERAL (
    SELECT market_id, launched_at_ms FROM pool_template_launches
    WHERE template_id = t.template_id ORDER BY launched_at_ms DESC, market_id DESC LIMIT 1
  ) l ON true`;

function templateFromRow(row: Record<string, unknown>): MarketTemplate {
  return {
    templateId: row.template_id as string,
    channelId: row.channel_id as string,
    name: row.name as string,
    definition: definitionFromJson(row.definition as DefinitionJson),
    openOnStreamOnline: row.open_on_stream_online as boolean,
    createdByUserId: row.created_by_user_id as string,
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
    version: Number(row.version),
    lastMarketId: (row.last_market_id as string | null) ?? '',
    lastOpenedAtMs: row.last_opened_at_ms == null ? 0 : Number(row.last_opened_at_ms),
  };
}

/** Dependencies of {@link createTemplateStore}. */
export interface TemplateStoreDeps {
  readonly sql: Sql;
  readonly clock: Clock;
  /** The market store: channels, and CreateMarket for opening. */
  readonly store: Pick<PoolStore, 'channelIn' | 'createMarket' | 'settings'>;
  readonly randomBytes?: (size: number) => Uint8Array;
}

/** Creates the template store. */
export function createTemplateStore(deps: TemplateStoreDeps) {
  const { sql, clock, store } = deps;
  const random = deps.randomBytes ?? ((size: number) => new Uint8Array(randomBytes(size)));

  async function templateIn(
    db: SqlExecutor,
    templateId: string,
    lock = false,
  ): Promise<MarketTemplate | undefined> {
    // FOR UPDATE cannot apply to the nullable side of an outer join: lock the row first.
    if (lock) {
      await db.query('SELECT 1 FROM pool_market_templates WHERE template_id = $1 FOR UPDATE', [
        templateId,
      ]);
    }
    const result = await db.query(`${SELECT_TEMPLATE} WHERE t.template_id = $1`, [templateId]);
    const row = result.rows[0];
    return row === undefined ? undefined : templateFromRow(row);
  }

  async function requireManagedChannel(tx: SqlExecutor, channelId: string, actor: Actor) {
    const channel = await store.channelIn(tx, channelId, true);
    if (channel === undefined)
      throw new NotFoundError(`channel ${quoteInput(channelId)} is not a linked channel`);
    assertCanManage(actor, channel.ownerUserId);
    return channel;
  }

  async function insertOrReplace(
    tx: SqlExecutor,
    input: SaveTemplateInput,
    existing: MarketTemplate | undefined,
    name: string,
    definition: TemplateDefinition,
    nowMs: number,
  ): Promise<string> {
    if (existing !== undefined) {
      if (sameTemplate(existing, name, definition, input.openOnStreamOnline))
        return existing.templateId;
      await tx.query(
        `UPDATE pool_market_templates SET name = $2, name_folded = $3, open_on_stream_online = $4,
           definition = $5::jsonb, updated_at_ms = $6, version = version + 1
         WHERE template_id = $1`,
        [
          existing.templateId,
          name,
          foldName(name),
          input.openOnStreamOnline,
          definitionToJson(definition) as unknown as Record<string, unknown>,
          BigInt(nowMs),
        ],
      );
      return existing.templateId;
    }
    const count = await tx.query<{ n: string | number }>(
      'SELECT count(*) AS n FROM pool_market_templates WHERE channel_id = $1',
      [input.channelId],
    );
    if (Number(count.rows[0]?.n ?? 0) >= MAX_TEMPLATES_PER_CHANNEL) {
      throw new IllegalStateError(
        `channel ${input.channelId} already has ${MAX_TEMPLATES_PER_CHANNEL} templates: delete one first`,
      );
    }
    const templateId = encodeUlid(nowMs, random(10));
    await tx.query(
      `INSERT INTO pool_market_templates (template_id, channel_id, name, name_folded,
         open_on_stream_online, created_by_user_id, created_at_ms, updated_at_ms, version, definition)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1, $8::jsonb)`,
      [
        templateId,
        input.channelId,
        name,
        foldName(name),
        input.openOnStreamOnline,
        actorUserId(input.actor),
        BigInt(nowMs),
        definitionToJson(definition) as unknown as Record<string, unknown>,
      ],
    );
    return templateId;
  }

  return {
    /**
     * SaveMarketTemplate: under the channel's row lock, checks ownership, the name and the
     * definition (CreateMarket's rules against the channel's current settings), then inserts or
     * replaces (by id, else by folded name). A save that changes nothing keeps the version.
     */
    async save(input: SaveTemplateInput): Promise<MarketTemplate> {
      const nowMs = clock.now();
      return sql.transaction(async (tx) => {
        const channel = await requireManagedChannel(tx, input.channelId, input.actor);
        if (!channel.linked) {
          throw new IllegalStateError(
            `channel ${input.channelId} is unlinked: link it again to keep templates`,
          );
        }
        const { name, definition } = validateTemplate(input.name, input.definition, {
          actor: input.actor,
          channelId: channel.channelId,
          channelOwnerUserId: channel.ownerUserId,
          defaults: channel.settings,
          realCurrency: store.settings.realCurrency,
          nowMs,
        });
        const sameName = await tx.query<{ template_id: string }>(
          'SELECT template_id FROM pool_market_templates WHERE channel_id = $1 AND name_folded = $2',
          [channel.channelId, foldName(name)],
        );
        const namedId = sameName.rows[0]?.template_id;
        let existing: MarketTemplate | undefined;
        if (input.templateId !== '') {
          existing = await templateIn(tx, input.templateId, true);
          if (existing === undefined || existing.channelId !== channel.channelId) {
            throw new NotFoundError(
              `template ${quoteInput(input.templateId)} is not a template of channel ${channel.channelId}`,
            );
          }
          assertTemplateVersion(existing, input.expectedVersion);
          if (namedId !== undefined && namedId !== existing.templateId) {
            throw new AlreadyExistsError(
              `the channel already has a template named "${name}": choose another name or save that one`,
            );
          }
        } else if (namedId !== undefined) {
          existing = await templateIn(tx, namedId, true);
        }
        const templateId = await insertOrReplace(tx, input, existing, name, definition, nowMs);
        return (await templateIn(tx, templateId))!;
      });
    },

    /** ListMarketTemplates: the channel's templates by name (ownership checked). */
    async list(channelId: string, actor: Actor): Promise<MarketTemplate[]> {
      const channel = await store.channelIn(sql, channelId);
      if (channel === undefined)
        throw new NotFoundError(`channel ${quoteInput(channelId)} is not a linked channel`);
      assertCanManage(actor, channel.ownerUserId);
      const result = await sql.query(
        `${SELECT_TEMPLATE} WHERE t.channel_id = $1 ORDER BY t.name_folded, t.template_id`,
        [channelId],
      );
      return result.rows.map(templateFromRow);
    },

    /** One template, or undefined. */
    get(templateId: string): Promise<MarketTemplate | undefined> {
      return templateIn(sql, templateId);
    },

    /** DeleteMarketTemplate: false when there was none; ownership checked otherwise. */
    async delete(templateId: string, actor: Actor): Promise<boolean> {
      return sql.transaction(async (tx) => {
        const template = await templateIn(tx, templateId, true);
        if (template === undefined) return false;
        const channel = await store.channelIn(tx, template.channelId);
        assertCanManage(actor, channel?.ownerUserId ?? '');
        await tx.query('DELETE FROM pool_market_templates WHERE template_id = $1', [templateId]);
        return true;
      });
    },

    /**
     * Opens a market from a template: CreateMarket (open now) as `actor`, under the idempotency key
     * `template:<key>` of the caller, the request identified by the template id (the same key with
     * another template is ALREADY_EXISTS; with the same one, the first market even if the template
     * changed since). The launch row commits with the market.
     */
    async open(input: {
      readonly actor: Actor;
      readonly templateId: string;
      readonly idempotencyKey: string;
      readonly trigger: LaunchTrigger;
    }): Promise<Market> {
      const template = await templateIn(sql, input.templateId);
      if (template === undefined)
        throw new NotFoundError(`template ${quoteInput(input.templateId)} does not exist`);
      const { market } = await store.createMarket({
        actor: input.actor,
        channelId: template.channelId,
        idempotencyKey: `template:${input.idempotencyKey}`,
        requestHash: createHash('sha256').update(`template:${template.templateId}`).digest('hex'),
        command: templateCommand(template.definition),
        async onCreated(tx, created) {
          await tx.query(
            `INSERT INTO pool_template_launches (market_id, template_id, trigger, launched_at_ms)
             VALUES ($1, $2, $3, $4)`,
            [created.marketId, template.templateId, input.trigger, BigInt(created.createdAtMs)],
          );
        },
      });
      return market;
    },

    /**
     * Templates of a channel that open on stream-online and have no market from them still DRAFT,
     * OPEN or LOCKED (one market per stream, even when several platforms go online).
     */
    async dueOnStreamOnline(channelId: string): Promise<MarketTemplate[]> {
      const result = await sql.query(
        `${SELECT_TEMPLATE} WHERE t.channel_id = $1 AND t.open_on_stream_online
           AND NOT EXISTS (
             SELECT 1 FROM pool_template_launches x JOIN pool_markets m ON m.market_id = x.market_id
             WHERE x.template_id = t.template_id AND m.state IN ('DRAFT', 'OPEN', 'LOCKED'))
         ORDER BY t.name_folded, t.template_id`,
        [channelId],
      );
      return result.rows.map(templateFromRow);
    },
  };
}

/** The template store's type. */
export type TemplateStore = ReturnType<typeof createTemplateStore>;
