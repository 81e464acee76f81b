/**
 * The KYC provider's decision webhook, as a plain function the HTTP server mounts
 * (`POST /webhooks/kyc`). Authenticity: HMAC-SHA256 over `<timestamp>.<raw body>` with the shared
 * secret, compared in constant time; freshness: the timestamp must be within the tolerance
 * (default 5 min) of our clock; replays: each `event_id` is applied once (stored in the same
 * transaction as the decision). Answers: 200 applied or duplicate, 400 malformed, 401 bad or stale
 * signature, 404 unknown case, 409 a different decision on a decided case.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError } from '@streambet/platform/errors/domain-errors';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql } from '@streambet/platform/sql/types';
import type { IdentityStore } from './store/index.js';
import { decideKycCase } from './kyc-routes.js';

/** Header carrying the signing time, Unix seconds. */
export const kycTimestampHeader = 'x-kyc-timestamp';
/** Header carrying `v1=<hex HMAC-SHA256>`. */
export const kycSignatureHeader = 'x-kyc-signature';

/** The signature header value for a delivery (what the provider sends). */
export function signKycWebhook(
  secret: string,
  timestampSeconds: number | string,
  rawBody: Uint8Array,
): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestampSeconds}.`);
  mac.update(rawBody);
  return `v1=${mac.digest('hex')}`;
}

/** Request headers as a Fetch `Headers` or Node's `IncomingHttpHeaders`. */
export type WebhookHeaders = Headers | Readonly<Record<string, string | string[] | undefined>>;

/** What to answer the provider. */
export interface WebhookResponse {
  readonly status: number;
  /** JSON text: `{"status": ...}` or `{"error": ...}`. */
  readonly body: string;
}

/** Options of {@link createKycWebhookHandler}. */
export interface KycWebhookOptions {
  readonly sql: Sql;
  readonly store: IdentityStore;
  readonly clock: Clock;
  /** Shared secret (config: USER_KYC_WEBHOOK_SECRET). */
  readonly secret: string;
  /** Accepted distance between the signed timestamp and now, seconds; default 300. */
  readonly toleranceSeconds?: number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

const reply = (status: number, body: Record<string, string>): WebhookResponse => ({
  status,
  body: JSON.stringify(body),
});

interface DecisionBody {
  readonly eventId: string;
  readonly caseId: string;
  readonly decision: 'APPROVE' | 'REJECT';
  readonly reason: string;
}

function parseBody(rawBody: Uint8Array): DecisionBody | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(rawBody));
  } catch {
    return 'body must be JSON';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'body must be a JSON object';
  const body = parsed as Record<string, unknown>;
  const { event_id: eventId, case_id: caseId, decision, reason } = body;
  if (typeof eventId !== 'string' || eventId === '' || eventId.length > 200) {
    return 'event_id must be a non-empty string';
  }
  if (typeof caseId !== 'string' || caseId === '') return 'case_id must be a non-empty string';
  if (decision !== 'approved' && decision !== 'rejected') {
    return 'decision must be "approved" or "rejected"';
  }
  if (reason !== undefined && typeof reason !== 'string') return 'reason must be a string';
  return {
    eventId,
    caseId,
    decision: decision === 'approved' ? 'APPROVE' : 'REJECT',
    reason: reason ?? '',
  };
}

/** Creates the webhook handler: `(rawBody, headers) → {status, body}`; never throws for bad input. */
export function createKycWebhookHandler(
  options: KycWebhookOptions,
): (rawBody: Uint8Array, headers: WebhookHeaders) => Promise<WebhookResponse> {
  const toleranceMs = (options.toleranceSeconds ?? 300) * 1000;
  return async (rawBody, headers) => {
    const timestamp = header(headers, kycTimestampHeader);
    const signature = header(headers, kycSignatureHeader);
    if (timestamp === undefined || signature === undefined) {
      return reply(401, { error: `missing ${kycTimestampHeader} or ${kycSignatureHeader} header` });
    }
    if (!/^\d{1,12}$/.test(timestamp)) {
      return reply(401, { error: `${kycTimestampHeader} must be Unix seconds` });
    }
    const expected = Buffer.from(signKycWebhook(options.secret, timestamp, rawBody));
    const given = Buffer.from(signature.trim());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return reply(401, { error: 'signature does not match' });
    }
    const nowMs = options.clock.now();
    if (Math.abs(nowMs - Number(timestamp) * 1000) > toleranceMs) {
      return reply(401, {
        error: 'timestamp outside the accepted window; stale or replayed delivery',
      });
    }
    const body = parseBody(rawBody);
    if (typeof body === 'string') return reply(400, { error: body });
    try {
      const outcome = await options.sql.transaction(async (tx) => {
        const fresh = await options.store.recordKycWebhookEvent(
          tx,
          body.eventId,
          body.caseId,
          nowMs,
        );
        if (!fresh) return 'duplicate' as const;
        await decideKycCase(options.store, tx, {
          caseId: body.caseId,
          decision: body.decision,
          reason: body.reason,
          reviewerUserId: '',
          actor: undefined,
          nowMs,
        });
        return 'applied' as const;
      });
      return reply(200, { status: outcome });
    } catch (error) {
      if (error instanceof DomainError) {
        const status =
          error.kind === 'not-found'
            ? 404
            : error.kind === 'illegal-state'
              ? 409
              : error.kind === 'validation'
                ? 400
                : 503;
        return reply(status, { error: error.message });
      }
      throw error;
    }
  };
}
