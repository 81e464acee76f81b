/**
 * Templates opened by the stream going online: on integration StreamWentOnline, every template of
 * the channel with open_on_stream_online opens a market (CreateMarket rules, as the system), unless
 * a market opened from that template is still DRAFT, OPEN or LOCKED — so a channel linked on
 * several platforms that goes online on each gets one market per template, not one per platform.
 *
 * Consumer group `pool.template-trigger`, idempotent by construction: each market is created under
 * the system's idempotency key `stream-online:<event id>:<template id>`, so a redelivery finds the
 * market it created. A refusal by the market rules (unlinked channel, a template whose commission
 * is now below the channel's, a currency the deployment no longer offers) is logged and skipped:
 * redelivering the event could not change it.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { StreamWentOnlineSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { DomainError } from '@streambet/platform/errors/domain-errors';
import type { Logger } from '@streambet/platform/log/logger';
import type { EventConsumer } from '@streambet/platform/runtime/service-host';
import { integrationTopic } from './consumers.js';
import { systemActor } from './domain/market.js';
import type { TemplateStore } from './templates.js';

/** The template-trigger consumer. */
export function createTemplateTriggerConsumer(deps: {
  readonly templates: Pick<TemplateStore, 'dueOnStreamOnline' | 'open'>;
  readonly logger: Logger;
}): EventConsumer {
  return {
    name: 'template-trigger',
    topics: [integrationTopic],
    // Opens markets the streamer asked for: retry until done or refused by the rules.
    maxAttempts: 'unlimited',
    async handleIdempotently(envelope) {
      if (envelope.type !== StreamWentOnlineSchema.typeName) return;
      const event = fromBinary(StreamWentOnlineSchema, envelope.payload);
      for (const template of await deps.templates.dueOnStreamOnline(event.channelId)) {
        try {
          await deps.templates.open({
            actor: systemActor,
            templateId: template.templateId,
            idempotencyKey: `stream-online:${envelope.id}:${template.templateId}`,
            trigger: 'STREAM_ONLINE',
          });
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          deps.logger.warn(
            { templateId: template.templateId, channelId: event.channelId, err: error.message },
            'template not opened on stream online',
          );
        }
      }
    },
  };
}
