/**
 * The template RPCs of PoolService (SaveMarketTemplate, ListMarketTemplates, DeleteMarketTemplate,
 * OpenMarketFromTemplate): proto ↔ domain and edge checks; the rules are in domain/template.ts and
 * the store in templates.ts. Merged into the PoolService implementation by routes.ts.
 */
import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import {
  MarketKind,
  MarketTemplateSchema,
  type MarketTemplate as MarketTemplateProto,
  type PoolService,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { ValidationError } from '@streambet/platform/errors/domain-errors';
import type { Actor } from './domain/market.js';
import type { MarketTemplate } from './domain/template.js';
import { marketToProto, stakeLimitsFromProto, stakeLimitsToProto } from './proto-codec.js';
import type { TemplateStore } from './templates.js';

/** A template as the contract shows it. */
export function templateToProto(template: MarketTemplate): MarketTemplateProto {
  const d = template.definition;
  return create(MarketTemplateSchema, {
    templateId: template.templateId,
    channelId: template.channelId,
    name: template.name,
    title: d.title,
    outcomeTitles: [...d.outcomeTitles],
    currency: d.currency,
    kind:
      d.kind === 'POOL'
        ? MarketKind.POOL
        : d.kind === 'EXCHANGE'
          ? MarketKind.EXCHANGE
          : MarketKind.UNSPECIFIED,
    ...(d.stakeLimits === undefined ? {} : { stakeLimits: stakeLimitsToProto(d.stakeLimits) }),
    ...(d.bettingWindowSeconds === undefined
      ? {}
      : { bettingWindowSeconds: d.bettingWindowSeconds }),
    ...(d.commissionBps === undefined ? {} : { commissionBps: d.commissionBps }),
    ...(d.autoLockOnOffline === undefined ? {} : { autoLockOnOffline: d.autoLockOnOffline }),
    openOnStreamOnline: template.openOnStreamOnline,
    createdByUserId: template.createdByUserId,
    createdAtMs: BigInt(template.createdAtMs),
    updatedAtMs: BigInt(template.updatedAtMs),
    version: BigInt(template.version),
    lastMarketId: template.lastMarketId,
    lastOpenedAtMs: BigInt(template.lastOpenedAtMs),
  });
}

function required(field: string, value: string): void {
  if (value.trim() === '')
    throw new ValidationError('missing field', [{ field, description: 'is required' }]);
}

/** Dependencies of the template RPCs. */
export interface TemplateRoutesDeps {
  readonly templates: TemplateStore;
  /** The caller as a domain actor (PERMISSION_DENIED for anonymous callers). */
  readonly requireActor: (context: HandlerContext) => Actor;
}

/** The four template RPCs of PoolService. */
export function createTemplateRoutes(
  deps: TemplateRoutesDeps,
): Pick<
  ServiceImpl<typeof PoolService>,
  'saveMarketTemplate' | 'listMarketTemplates' | 'deleteMarketTemplate' | 'openMarketFromTemplate'
> {
  const { templates, requireActor } = deps;
  return {
    async saveMarketTemplate(request, context) {
      required('channel_id', request.channelId);
      if (request.expectedVersion < 0n) {
        throw new ValidationError('invalid expected version', [
          { field: 'expected_version', description: 'must be 0 (no check) or a template version' },
        ]);
      }
      const kind =
        request.kind === MarketKind.POOL
          ? 'POOL'
          : request.kind === MarketKind.EXCHANGE
            ? 'EXCHANGE'
            : 'UNSPECIFIED';
      const template = await templates.save({
        actor: requireActor(context),
        channelId: request.channelId,
        templateId: request.templateId,
        name: request.name,
        definition: {
          title: request.title,
          outcomeTitles: request.outcomeTitles,
          currency: request.currency,
          kind,
          stakeLimits:
            request.stakeLimits === undefined
              ? undefined
              : stakeLimitsFromProto(request.stakeLimits),
          bettingWindowSeconds: request.bettingWindowSeconds,
          commissionBps: request.commissionBps,
          autoLockOnOffline: request.autoLockOnOffline,
        },
        openOnStreamOnline: request.openOnStreamOnline,
        expectedVersion: Number(request.expectedVersion),
      });
      return { template: templateToProto(template) };
    },

    async listMarketTemplates(request, context) {
      required('channel_id', request.channelId);
      const list = await templates.list(request.channelId, requireActor(context));
      return { templates: list.map(templateToProto) };
    },

    async deleteMarketTemplate(request, context) {
      required('template_id', request.templateId);
      return { deleted: await templates.delete(request.templateId, requireActor(context)) };
    },

    async openMarketFromTemplate(request, context) {
      required('template_id', request.templateId);
      const key = request.idempotencyKey;
      if (key.length < 1 || key.length > 64) {
        throw new ValidationError('invalid request', [
          { field: 'idempotency_key', description: 'is required, 1–64 characters' },
        ]);
      }
      const market = await templates.open({
        actor: requireActor(context),
        templateId: request.templateId,
        idempotencyKey: key,
        trigger: 'MANUAL',
      });
      return { market: marketToProto(market) };
    },
  };
}
