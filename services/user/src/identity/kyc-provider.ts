/**
 * The KYC provider port. Real providers cannot be reached from here: StartKyc hands the case to the
 * port, and the provider's decision comes back later through the signed webhook (kyc-webhook.ts)
 * or an admin decides with ReviewKyc. The fake (embedded mode and tests only) records submissions
 * and produces correctly signed webhook deliveries, so tests exercise the same path a real provider
 * would. Cluster mode wires {@link noKycProvider} until a real provider exists.
 */
import { randomUUID } from 'node:crypto';
import { IllegalStateError } from '@streambet/platform/errors/domain-errors';
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
  /**
   * The latest submissions received, oldest first: at most `keepSubmissions` of them (legal names
   * and document numbers are personal data; a long-running process must not pile them up).
   */
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

/** Submissions the fake keeps unless told otherwise. */
export const fakeKycKeptSubmissions = 100;

/**
 * Creates the fake provider signing with `secret`. It keeps the last `keepSubmissions` submissions
 * (default {@link fakeKycKeptSubmissions}; 0 keeps none, as the embedded platform does).
 */
export function createFakeKycProvider(options: {
  readonly secret: string;
  readonly clock: Clock;
  readonly keepSubmissions?: number;
}): FakeKycProvider {
  const keep = Math.max(0, options.keepSubmissions ?? fakeKycKeptSubmissions);
  const submissions: KycProviderSubmission[] = [];
  return {
    submissions,
    submit(submission) {
      if (keep > 0) {
        submissions.push(submission);
        if (submissions.length > keep) submissions.splice(0, submissions.length - keep);
      }
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

/** What StartKyc answers while no KYC provider is configured. */
export const noKycProviderMessage =
  'KYC verification is unavailable: no KYC provider is configured on this deployment; try again after the operator sets one up';

/**
 * The provider of cluster mode until a real one exists: it refuses every submission with
 * FAILED_PRECONDITION (retrying is pointless until the deployment changes), so no case is stored
 * and nothing personal is kept. Decisions on existing cases still arrive through the signed
 * webhook and admins still decide with ReviewKyc.
 */
export const noKycProvider: KycProvider = Object.freeze({
  submit(): Promise<never> {
    return Promise.reject(new IllegalStateError(noKycProviderMessage));
  },
});
