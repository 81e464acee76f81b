/**
 * Webhook verdicts, pure: which deliveries are fresh, which are replays, whether a Kick body agrees
 * with its unsigned type header, and what a verified Twitch or Kick notification means for a
 * channel. Signatures themselves are checked by `../webhooks/signatures.ts` (it needs node:crypto);
 * this module decides everything else, with the time passed in.
 */

/** Deliveries whose timestamp is further than this from our clock are refused (contract: 10 min). */
export const webhookFreshnessMs = 10 * 60_000;

/** The providers that push webhooks to us. */
export type WebhookProvider = 'twitch' | 'kick';

/**
 * What happened to one delivery. `accepted`, `challenge`, `revocation` and `replayed` are answered
 * 2xx; every other verdict is a refusal (403, or 400/415 for a body we cannot read) that changes
 * nothing but the webhook log and the refusal counter.
 */
export type WebhookVerdict =
  | 'accepted'
  | 'challenge'
  | 'revocation'
  | 'replayed'
  | 'ignored'
  | 'unsigned'
  | 'bad_signature'
  | 'stale'
  | 'malformed'
  | 'wrong_content_type'
  | 'type_mismatch'
  | 'unknown_subscription';

/** The verdicts that are refusals (counted by reason on /metrics). */
export const refusalVerdicts: ReadonlySet<WebhookVerdict> = new Set([
  'unsigned',
  'bad_signature',
  'stale',
  'malformed',
  'wrong_content_type',
  'type_mismatch',
  'unknown_subscription',
]);

/** The HTTP status a verdict is answered with. */
export function verdictStatus(verdict: WebhookVerdict): number {
  switch (verdict) {
    case 'accepted':
    case 'challenge':
      return 200;
    case 'revocation':
    case 'replayed':
    case 'ignored':
      return 204;
    case 'malformed':
      return 400;
    case 'wrong_content_type':
      return 415;
    default:
      return 403;
  }
}

/**
 * Parses an RFC 3339 timestamp (Twitch sends nanoseconds: `2019-11-16T10:11:12.634234626Z`) to ms
 * since the epoch; undefined when it is not one. Fractions beyond ms are truncated.
 */
export function parseRfc3339Ms(value: string): number | undefined {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/.exec(
      value,
    );
  if (match === null) return undefined;
  const fraction = (match[7] ?? '').slice(0, 3).padEnd(3, '0');
  const normalized = `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}.${fraction}${
    match[8] === 'z' ? 'Z' : match[8]
  }`;
  const ms = Date.parse(normalized);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Parses Kick's `Kick-Event-Message-Timestamp`: RFC 3339, or whole seconds / ms since the epoch
 * (digits only: 10 or fewer digits are seconds).
 */
export function parseKickTimestampMs(value: string): number | undefined {
  if (/^\d{1,16}$/.test(value)) {
    const n = Number(value);
    return value.length <= 10 ? n * 1000 : n;
  }
  return parseRfc3339Ms(value);
}

/**
 * Fresh when the delivery's timestamp is at most `windowMs` from now, either way: exactly 10 min
 * old is still fresh, one ms more is stale. A timestamp as far in the future is refused too (a
 * clock that far off cannot be told from a forged one).
 */
export function isFresh(
  timestampMs: number,
  nowMs: number,
  windowMs = webhookFreshnessMs,
): boolean {
  return Math.abs(nowMs - timestampMs) <= windowMs;
}

/**
 * How long a processed message id is remembered: at least the freshness window (a replay older than
 * that is refused as stale before dedupe is consulted), with margin for the clock skew allowed the
 * other way.
 */
export function dedupeRetentionMs(windowMs = webhookFreshnessMs): number {
  return 2 * windowMs + 60_000;
}

/** The bytes a Twitch EventSub signature covers: message id + timestamp + raw body. */
export function twitchSignedBytes(
  messageId: string,
  timestamp: string,
  body: Uint8Array,
): Uint8Array {
  return concat(new TextEncoder().encode(messageId + timestamp), body);
}

/** The bytes a Kick signature covers: `<message id>.<timestamp>.<raw body>`. */
export function kickSignedBytes(
  messageId: string,
  timestamp: string,
  body: Uint8Array,
): Uint8Array {
  return concat(new TextEncoder().encode(`${messageId}.${timestamp}.`), body);
}

function concat(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

/** A change a verified notification asks for, on the channel with that platform id. */
export type WebhookEffect =
  | {
      readonly kind: 'online';
      readonly platformChannelId: string;
      readonly platformStreamId: string;
      /** Broadcast start from the platform; undefined when it gives none. */
      readonly startedAtMs: number | undefined;
      readonly title: string;
    }
  | {
      readonly kind: 'offline';
      readonly platformChannelId: string;
      readonly platformStreamId: string;
      /** Broadcast end from the platform; undefined when it gives none (Twitch). */
      readonly endedAtMs: number | undefined;
    }
  | {
      readonly kind: 'prediction_began';
      readonly platformChannelId: string;
      readonly predictionId: string;
      readonly title: string;
      readonly outcomes: readonly { id: string; title: string; color: string }[];
      readonly startedAtMs: number;
      readonly locksAtMs: number;
    }
  | {
      readonly kind: 'prediction_locked';
      readonly platformChannelId: string;
      readonly predictionId: string;
      readonly lockedAtMs: number;
    }
  | {
      readonly kind: 'prediction_ended';
      readonly platformChannelId: string;
      readonly predictionId: string;
      readonly status: 'resolved' | 'canceled';
      readonly winningOutcomeId: string;
      readonly endedAtMs: number;
    }
  | { readonly kind: 'none'; readonly platformChannelId: string };

/** Thrown for a verified body that does not have the documented shape. */
export class MalformedWebhookError extends Error {}

type Json = Record<string, unknown>;

function obj(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedWebhookError(`${what} must be an object`);
  }
  return value as Json;
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new MalformedWebhookError(`${what} must be a string`);
  return value;
}

function time(value: unknown, what: string): number {
  const ms = parseRfc3339Ms(str(value, what));
  if (ms === undefined) throw new MalformedWebhookError(`${what} must be an RFC 3339 timestamp`);
  return ms;
}

/** A parsed Twitch EventSub body. */
export interface TwitchMessage {
  readonly subscriptionId: string;
  readonly subscriptionType: string;
  readonly subscriptionStatus: string;
  /** broadcaster_user_id of the subscription's condition. */
  readonly broadcasterUserId: string;
  readonly challenge: string | undefined;
  readonly event: Json | undefined;
}

/** Parses a Twitch EventSub body (notification, verification or revocation). */
export function parseTwitchBody(raw: unknown): TwitchMessage {
  const body = obj(raw, 'body');
  const subscription = obj(body.subscription, 'subscription');
  const condition = obj(subscription.condition ?? {}, 'subscription.condition');
  return {
    subscriptionId: str(subscription.id, 'subscription.id'),
    subscriptionType: str(subscription.type, 'subscription.type'),
    subscriptionStatus: typeof subscription.status === 'string' ? subscription.status : '',
    broadcasterUserId:
      typeof condition.broadcaster_user_id === 'string' ? condition.broadcaster_user_id : '',
    challenge: typeof body.challenge === 'string' ? body.challenge : undefined,
    event: body.event === undefined ? undefined : obj(body.event, 'event'),
  };
}

/** What a Twitch notification means (stream.online/offline, channel.prediction.*). */
export function twitchEffect(message: TwitchMessage): WebhookEffect {
  const event = obj(message.event, 'event');
  const platformChannelId = str(event.broadcaster_user_id, 'event.broadcaster_user_id');
  switch (message.subscriptionType) {
    case 'stream.online':
      return {
        kind: 'online',
        platformChannelId,
        platformStreamId: typeof event.id === 'string' ? event.id : '',
        startedAtMs: time(event.started_at, 'event.started_at'),
        title: '',
      };
    case 'stream.offline':
      return { kind: 'offline', platformChannelId, platformStreamId: '', endedAtMs: undefined };
    case 'channel.prediction.begin': {
      const outcomes = event.outcomes;
      if (!Array.isArray(outcomes))
        throw new MalformedWebhookError('event.outcomes must be a list');
      return {
        kind: 'prediction_began',
        platformChannelId,
        predictionId: str(event.id, 'event.id'),
        title: str(event.title, 'event.title'),
        outcomes: outcomes.map((o, i) => {
          const outcome = obj(o, `event.outcomes[${i}]`);
          return {
            id: str(outcome.id, 'outcome.id'),
            title: str(outcome.title, 'outcome.title'),
            color: typeof outcome.color === 'string' ? outcome.color : '',
          };
        }),
        startedAtMs: time(event.started_at, 'event.started_at'),
        locksAtMs: time(event.locks_at, 'event.locks_at'),
      };
    }
    case 'channel.prediction.lock':
      return {
        kind: 'prediction_locked',
        platformChannelId,
        predictionId: str(event.id, 'event.id'),
        lockedAtMs: time(event.locked_at, 'event.locked_at'),
      };
    case 'channel.prediction.end': {
      const status = str(event.status, 'event.status');
      const resolved = status === 'resolved';
      return {
        kind: 'prediction_ended',
        platformChannelId,
        predictionId: str(event.id, 'event.id'),
        status: resolved ? 'resolved' : 'canceled',
        winningOutcomeId:
          resolved && typeof event.winning_outcome_id === 'string' ? event.winning_outcome_id : '',
        endedAtMs: time(event.ended_at, 'event.ended_at'),
      };
    }
    default:
      return { kind: 'none', platformChannelId };
  }
}

/** The Kick event type this service subscribes to. */
export const kickLivestreamStatusType = 'livestream.status.updated';

/**
 * What a Kick `livestream.status.updated` body means. The type header is not signed, so the body
 * must carry the fields of that type (a body of another event type under this header is refused as
 * `type_mismatch` by throwing {@link KickTypeMismatchError}).
 */
export function kickEffect(typeHeader: string, raw: unknown): WebhookEffect {
  const body = obj(raw, 'body');
  if (typeHeader !== kickLivestreamStatusType) {
    throw new KickTypeMismatchError(`unsupported Kick-Event-Type ${JSON.stringify(typeHeader)}`);
  }
  if (typeof body.is_live !== 'boolean' || typeof body.broadcaster !== 'object') {
    throw new KickTypeMismatchError(
      'the body is not a livestream.status.updated event (no is_live / broadcaster)',
    );
  }
  const broadcaster = obj(body.broadcaster, 'broadcaster');
  const id = broadcaster.user_id;
  if (typeof id !== 'number' && typeof id !== 'string') {
    throw new MalformedWebhookError('broadcaster.user_id must be a number');
  }
  const platformChannelId = String(id);
  if (body.is_live) {
    return {
      kind: 'online',
      platformChannelId,
      platformStreamId: '',
      startedAtMs:
        typeof body.started_at === 'string' ? parseRfc3339Ms(body.started_at) : undefined,
      title: typeof body.title === 'string' ? body.title : '',
    };
  }
  return {
    kind: 'offline',
    platformChannelId,
    platformStreamId: '',
    endedAtMs: typeof body.ended_at === 'string' ? parseRfc3339Ms(body.ended_at) : undefined,
  };
}

/** A Kick body that does not agree with its (unsigned) type header. */
export class KickTypeMismatchError extends Error {}
