/**
 * The KYC provider port. Real providers cannot be reached from here: StartKyc hands the case to the
 * port, and the provider's decision comes back later through the signed webhook (kyc-webhook.ts)
 * or an admin decides with ReviewKyc. The fake records submissions and produces correctly signed
 * webhook deliveries, so tests exercise the same path a real provider would.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { KycDocumentTypeName } from './domain/kyc/kyc.js';
import { kycSignatureHeader, kycTimestampHeader, signKycWebhook } from './kyc-webhook.js';

/** What is sent to the provider for one case. */
export interface KycProviderSubmission {
  /** Our case id; the provider echoes it in its webhook (`case_id`). */
  readonly caseId: string;
  readonly userId: string;
  readonly legalName: string;
  readonly documentType: KycDocumentTypeName;
  readonly documentNumber: string;
  readonly documentCountry: string;
}

/** A KYC provider. */
export interface KycProvider {
  /**
   * Submits a case for verification; resolves with the provider's reference for it. Throws
   * UnavailableError when the provider cannot be reached (then no case is stored).
   */
  submit(submission: KycProviderSubmission): Promise<{ readonly providerReference: string }>;
}

/** A provider decision as delivered to the webhook. */
export interface KycWebhookDelivery {
  readonly rawBody: Uint8Array;
  readonly headers: Record<string, string>;
}

/** The fake provider of tests and embedded mode. */
export interface FakeKycProvider extends KycProvider {
  /** Every submission received, in order. */
  readonly submissions: KycProviderSubmission[];
  /**
   * A webhook delivery deciding `caseId`, signed with the shared secret; override the event id or
   * time to test replays and staleness, or the secret to test bad signatures.
   */
  decision(
    caseId: string,
    decision: 'approved' | 'rejected',
    options?: { reason?: string; eventId?: string; timestampMs?: number; secret?: string },
  ): KycWebhookDelivery;
}

/** Creates the fake provider signing with `secret`. */
export function createFakeKycProvider(options: {
  readonly secret: string;
  readonly clock: Clock;
}): FakeKycProvider {
  const submissions: KycProviderSubmission[] = [];
  return {
    submissions,
    submit(submission) {
      submissions.push(submission);
      return Promise.resolve({ providerReference: `fake-${submission.caseId}` });
    },
    decision(caseId, decision, decisionOptions = {}) {
      const body = JSON.stringify({
        event_id: decisionOptions.eventId ?? randomUUID(),
        case_id: caseId,
        decision,
        reason: decisionOptions.reason ?? '',
      });
      const rawBody = new TextEncoder().encode(body);
      const timestampSeconds = Math.floor(
        (decisionOptions.timestampMs ?? options.clock.now()) / 1000,
      );
      return {
        rawBody,
        headers: {
          'content-type': 'application/json',
          [kycTimestampHeader]: String(timestampSeconds),
          [kycSignatureHeader]: signKycWebhook(
            decisionOptions.secret ?? options.secret,
            timestampSeconds,
            rawBody,
          ),
        },
      };
    },
  };
}
