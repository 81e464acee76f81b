/**
 * Issue 17: once a user turns two-step verification on, a new withdrawal needs a code, checked by
 * the user service (UserInternalService.VerifySecondFactor, called with the payment service's
 * credential). Without one or with a wrong one nothing is held; a retry with the same key does not
 * spend another code. The code is computed here per RFC 6238 (HMAC-SHA-1, 30 s, 6 digits) from
 * the secret stored for the user, at the harness's shared manual clock.
 */
import { createHmac } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  PaymentProvider,
  PaymentStatus,
} from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUR, createHarness, type Harness } from './harness.js';

/** RFC 4648 base32 "JBSWY3DPEHPK3PXP" = the bytes of "Hello!\xde\xad\xbe\xef". */
const secretBase32 = 'JBSWY3DPEHPK3PXP';
const secretBytes = Buffer.from('48656c6c6f21deadbeef', 'hex');

/** The RFC 6238 code of the secret at `atMs`. */
function totp(atMs: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30_000)));
  const mac = createHmac('sha1', secretBytes).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error('call unexpectedly succeeded');
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const money = (amountMinor: bigint) => ({ currency: CUR, amountMinor });
const toStripe = {
  destination: { case: 'stripe' as const, value: { connectedAccountId: 'acct_1TEST' } },
};

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'withdrawals with two-step verification on %s',
  (_name, target) => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    }, 60_000);
    afterAll(async () => {
      await h.dispose();
    });

    it('given two-step on, then a withdrawal needs a valid code, holds nothing without one, and a retry spends none', async () => {
      const userId = await h.newUser();
      const { payment: deposit } = await h.svc.payment.createDeposit(
        { idempotencyKey: 'fund', provider: PaymentProvider.STRIPE, amount: money(10_000n) },
        await h.as(userId),
      );
      const intent = h.svc.fakes.stripe.intentOf(deposit!.paymentId)!;
      const delivery = h.svc.fakes.stripe.settleIntent(intent.id, 'succeed');
      await h.svc.webhooks.stripe(bytes(delivery.body), delivery.headers);
      // Two-step verification on, as ConfirmTwoStep leaves it.
      const nowMs = h.clock.now();
      await h.userDb.sql.query(
        `INSERT INTO two_step_secrets (user_id, secret_base32, created_at_ms, enabled_at_ms,
           enroll_expires_at_ms) VALUES ($1, $2, $3, $3, $3)`,
        [userId, secretBase32, BigInt(nowMs)],
      );
      const withdraw = async (key: string, secondFactorCode: string) =>
        h.svc.payment.requestWithdrawal(
          { idempotencyKey: key, amount: money(4000n), destination: toStripe, secondFactorCode },
          await h.as(userId),
        );

      const missing = await failure(withdraw('w1', ''));
      expect(missing.code).toBe(Code.InvalidArgument);
      expect(missing.rawMessage).toContain('second_factor_code: is required');
      const wrong = await failure(withdraw('w1', totp(nowMs) === '000000' ? '111111' : '000000'));
      expect(wrong.code).toBe(Code.InvalidArgument);
      expect(wrong.rawMessage).toContain(
        'second_factor_code: is not the current code of your authenticator app',
      );
      expect(await h.wallet(userId)).toMatchObject({ posted: 10_000n, available: 10_000n });

      const code = totp(nowMs);
      const { payment } = await withdraw('w1', code);
      expect(payment?.status).toBe(PaymentStatus.PROCESSING);
      expect(await h.wallet(userId)).toMatchObject({ available: 6000n });
      // The same key again: the same withdrawal, no new code needed.
      expect((await withdraw('w1', '')).payment?.paymentId).toBe(payment!.paymentId);
      // A new withdrawal with the spent code is refused.
      expect((await failure(withdraw('w2', code))).rawMessage).toContain('was already used');
    });
  },
);
