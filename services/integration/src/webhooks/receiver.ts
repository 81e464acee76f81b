/**
 * The webhook receiver: `POST /webhooks/twitch` and `POST /webhooks/kick` as the gateway passes
 * them (raw body, provider headers). Each delivery is verified on the raw bytes before anything is
 * parsed; a refusal is logged with its verdict and counted, and changes nothing else; an accepted
 * delivery claims its message id, applies its effect (live state, revocation) and appends the
 * integration.* event in one transaction, so a replay (same id) is acknowledged without effect.
 * Deliveries verified while a transaction runs share the next one (group commit, group-commit.ts);
 * each is answered after the commit holding it.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { applyLiveReport } from '../live.js';
import {
  isFresh,
  KickTypeMismatchError,
  kickEffect,
  MalformedWebhookError,
  parseKickTimestampMs,
  parseRfc3339Ms,
  parseTwitchBody,
  twitchEffect,
  verdictStatus,
  type WebhookEffect,
  type WebhookProvider,
  type WebhookVerdict,
} from '../domain/webhook.js';
import { effectEvent, type PlatformName } from '../events.js';
import type { IntegrationStore } from '../store.js';
import { createGroupCommitter } from './group-commit.js';
import { verifyKickSignature, verifyTwitchSignature } from './signatures.js';

/** Request headers as node gives them (lower-case names). */
export type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The answer to a delivery. */
export interface WebhookAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly verdict: WebhookVerdict;
}

/** Dependencies of {@link createWebhookReceiver}. */
export interface WebhookReceiverDeps {
  readonly store: IntegrationStore;
  readonly clock: Clock;
  /** The EventSub secret our subscriptions are created with; '' refuses every delivery. */
  readonly twitchSecret: string;
  /** Kick's public key (PEM or KeyObject); '' refuses every delivery. */
  readonly kickPublicKey: () => KeyObject | string;
  /** Counts each verdict (metrics). */
  readonly onVerdict?: (provider: WebhookProvider, verdict: WebhookVerdict) => void;
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] as string | undefined) : (value as string | undefined);
}

function isJson(headers: Headers): boolean {
  const type = (header(headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/json';
}

/** Creates the receiver of both providers. */
export function createWebhookReceiver(deps: WebhookReceiverDeps) {
  const { store, clock } = deps;
  const committer = createGroupCommitter({ store });

  function finish(
    provider: WebhookProvider,
    verdict: WebhookVerdict,
    entry: {
      messageId: string;
      messageType: string;
      detail: string;
      channelId?: string;
      body: string;
    },
    reply?: { contentType: string; body: string },
  ): WebhookAnswer {
    deps.onVerdict?.(provider, verdict);
    return {
      status: verdictStatus(verdict),
      contentType: reply?.contentType ?? 'application/json',
      body:
        reply?.body ??
        JSON.stringify(verdict === 'accepted' ? { ok: true } : { verdict, detail: entry.detail }),
      verdict,
    };
  }

  async function refuse(
    provider: WebhookProvider,
    verdict: WebhookVerdict,
    entry: { messageId: string; messageType: string; detail: string; body: string },
  ): Promise<WebhookAnswer> {
    await store.log({ provider, verdict, channelId: '', ...entry });
    return finish(provider, verdict, entry);
  }

  /** Applies a live-state or prediction effect to its channel in `tx`; the channel id or ''. */
  async function applyEffect(
    tx: SqlExecutor,
    platform: PlatformName,
    effect: WebhookEffect,
  ): Promise<{ channelId: string; detail: string }> {
    const link = await store.channelByPlatformId(tx, platform, effect.platformChannelId);
    if (link === undefined) {
      return { channelId: '', detail: `no linked ${platform} channel ${effect.platformChannelId}` };
    }
    if (effect.kind === 'none') {
      return { channelId: link.channelId, detail: 'not an event this service acts on' };
    }
    if (effect.kind === 'online' || effect.kind === 'offline') {
      const nowMs = clock.now();
      return applyLiveReport(tx, store, link, {
        live: effect.kind === 'online',
        atMs: (effect.kind === 'online' ? effect.startedAtMs : effect.endedAtMs) ?? nowMs,
        title: effect.kind === 'online' ? effect.title : '',
        streamId: effect.platformStreamId,
        nowMs,
      });
    }
    if (!link.mirrorTwitchPredictions) {
      return { channelId: link.channelId, detail: 'prediction mirroring is off' };
    }
    await store.append(tx, [effectEvent(link.streambetChannelId, platform, effect, clock.now())]);
    return { channelId: link.channelId, detail: effect.kind };
  }

  /**
   * The accepted part: claim the message id, run `effect`, log; committed with the deliveries
   * verified meanwhile in one transaction (see group-commit.ts). A replay (id already claimed) is
   * logged as `replayed` and changes nothing.
   */
  function accept(
    provider: WebhookProvider,
    messageId: string,
    messageType: string,
    bodyText: string,
    verdict: WebhookVerdict,
    effect: (tx: SqlExecutor) => Promise<{ channelId: string; detail: string }>,
  ): Promise<WebhookVerdict> {
    return committer.apply({ provider, messageId, messageType, body: bodyText, verdict, effect });
  }

  async function twitch(headers: Headers, body: Uint8Array): Promise<WebhookAnswer> {
    const text = new TextDecoder().decode(body);
    const messageId = header(headers, 'twitch-eventsub-message-id') ?? '';
    const timestamp = header(headers, 'twitch-eventsub-message-timestamp') ?? '';
    const signature = header(headers, 'twitch-eventsub-message-signature') ?? '';
    const messageType = header(headers, 'twitch-eventsub-message-type') ?? '';
    const entry = { messageId, messageType, body: text };
    if (!isJson(headers)) {
      return refuse('twitch', 'wrong_content_type', {
        ...entry,
        detail: 'expected application/json',
      });
    }
    if (messageId === '' || timestamp === '' || signature === '') {
      return refuse('twitch', 'unsigned', {
        ...entry,
        detail: 'Twitch-Eventsub-Message-Id, -Timestamp and -Signature are required',
      });
    }
    if (deps.twitchSecret === '') {
      return refuse('twitch', 'bad_signature', {
        ...entry,
        detail: 'Twitch webhooks are not configured (INTEGRATION_TWITCH_WEBHOOK_SECRET is unset)',
      });
    }
    if (!verifyTwitchSignature(deps.twitchSecret, messageId, timestamp, body, signature)) {
      return refuse('twitch', 'bad_signature', { ...entry, detail: 'signature does not match' });
    }
    const sentAtMs = parseRfc3339Ms(timestamp);
    if (sentAtMs === undefined || !isFresh(sentAtMs, clock.now())) {
      return refuse('twitch', 'stale', {
        ...entry,
        detail: `timestamp ${timestamp} is not within 10 minutes`,
      });
    }
    let message;
    let effect: WebhookEffect | undefined;
    try {
      message = parseTwitchBody(JSON.parse(text));
      if (messageType === 'notification') effect = twitchEffect(message);
    } catch (error) {
      const detail = error instanceof MalformedWebhookError ? error.message : 'body is not JSON';
      return refuse('twitch', 'malformed', { ...entry, detail });
    }
    const parsed = message;
    if (messageType === 'webhook_callback_verification') {
      const challenge = parsed.challenge ?? '';
      const verdict = await accept(
        'twitch',
        messageId,
        messageType,
        text,
        'challenge',
        async (tx) => {
          const channel = await store.channelByPlatformId(tx, 'TWITCH', parsed.broadcasterUserId);
          if (channel !== undefined) {
            await store.saveSubscription(tx, {
              platform: 'TWITCH',
              id: parsed.subscriptionId,
              channelId: channel.channelId,
              type: parsed.subscriptionType,
              status: 'enabled',
            });
          }
          return { channelId: channel?.channelId ?? '', detail: parsed.subscriptionType };
        },
      );
      return finish(
        'twitch',
        verdict,
        { ...entry, detail: '' },
        verdict === 'replayed' ? undefined : { contentType: 'text/plain', body: challenge },
      );
    }
    if (messageType === 'revocation') {
      const verdict = await accept(
        'twitch',
        messageId,
        messageType,
        text,
        'revocation',
        async (tx) => {
          const channelId = await store.revokeSubscription(tx, 'TWITCH', parsed.subscriptionId);
          const channel =
            channelId === undefined
              ? await store.channelByPlatformId(tx, 'TWITCH', parsed.broadcasterUserId, true)
              : await store.channel(channelId, tx, true);
          if (channel === undefined || channel.linkStatus === 'UNLINKED') {
            return { channelId: '', detail: 'revocation of an unknown subscription' };
          }
          await store.setLinkStatus(
            tx,
            channel.channelId,
            'REAUTH_REQUIRED',
            `Twitch revoked the ${parsed.subscriptionType} subscription (${parsed.subscriptionStatus}): link the channel again`,
            clock.now(),
          );
          return { channelId: channel.channelId, detail: parsed.subscriptionStatus };
        },
      );
      return finish('twitch', verdict, { ...entry, detail: '' });
    }
    if (messageType !== 'notification' || effect === undefined) {
      return refuse('twitch', 'malformed', {
        ...entry,
        detail: `unknown message type ${messageType}`,
      });
    }
    const known = effect;
    const verdict = await accept('twitch', messageId, messageType, text, 'accepted', (tx) =>
      applyEffect(tx, 'TWITCH', known),
    );
    return finish('twitch', verdict, { ...entry, detail: '' });
  }

  async function kick(headers: Headers, body: Uint8Array): Promise<WebhookAnswer> {
    const text = new TextDecoder().decode(body);
    const messageId = header(headers, 'kick-event-message-id') ?? '';
    const timestamp = header(headers, 'kick-event-message-timestamp') ?? '';
    const signature = header(headers, 'kick-event-signature') ?? '';
    const messageType = header(headers, 'kick-event-type') ?? '';
    const entry = { messageId, messageType, body: text };
    if (!isJson(headers)) {
      return refuse('kick', 'wrong_content_type', {
        ...entry,
        detail: 'expected application/json',
      });
    }
    if (messageId === '' || timestamp === '' || signature === '') {
      return refuse('kick', 'unsigned', {
        ...entry,
        detail: 'Kick-Event-Message-Id, -Message-Timestamp and -Signature are required',
      });
    }
    const key = deps.kickPublicKey();
    if (key === '') {
      return refuse('kick', 'bad_signature', {
        ...entry,
        detail: 'Kick webhooks are not configured (INTEGRATION_KICK_PUBLIC_KEY is unset)',
      });
    }
    if (!verifyKickSignature(key, messageId, timestamp, body, signature)) {
      return refuse('kick', 'bad_signature', { ...entry, detail: 'signature does not verify' });
    }
    const sentAtMs = parseKickTimestampMs(timestamp);
    if (sentAtMs === undefined || !isFresh(sentAtMs, clock.now())) {
      return refuse('kick', 'stale', {
        ...entry,
        detail: `timestamp ${timestamp} is not within 10 minutes`,
      });
    }
    let effect: WebhookEffect;
    try {
      effect = kickEffect(messageType, JSON.parse(text));
    } catch (error) {
      if (error instanceof KickTypeMismatchError) {
        return refuse('kick', 'type_mismatch', { ...entry, detail: error.message });
      }
      const detail = error instanceof MalformedWebhookError ? error.message : 'body is not JSON';
      return refuse('kick', 'malformed', { ...entry, detail });
    }
    const verdict = await accept('kick', messageId, messageType, text, 'accepted', (tx) =>
      applyEffect(tx, 'KICK', effect),
    );
    return finish('kick', verdict, { ...entry, detail: '' });
  }

  return { twitch, kick };
}

/** The receiver of both providers. */
export type WebhookReceiver = ReturnType<typeof createWebhookReceiver>;
