/**
 * The user service's configuration: the only reader of the environment, validated and frozen.
 */
import type { JWK } from 'jose';
import { z } from 'zod';
import {
  ConfigError,
  configSchemas,
  defineConfig,
  loadConfig,
  type Config,
  type Environment,
} from '@streambet/platform/config/load-config';
import {
  checkPlatformConfig,
  platformConfigSpec,
} from '@streambet/platform/runtime/platform-config';

/**
 * Every environment variable the user service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const userConfigSpec = defineConfig({
  ...platformConfigSpec('user'),
  USER_TOKEN_PRIVATE_JWK: {
    schema: configSchemas.json(
      z
        .object({
          kty: z.literal('OKP'),
          crv: z.literal('Ed25519'),
          d: z.string(),
          kid: z.string().min(1),
        })
        .loose(),
    ),
    description:
      'Ed25519 private JWK (JSON, with kid) that signs user access tokens; its public half is served at /.well-known/jwks.json',
    secret: true,
  },
  USER_TOKEN_ACCEPTED_PUBLIC_JWKS: {
    schema: configSchemas.json(
      z.object(
        {
          keys: z.array(
            z
              .object({ kty: z.string(), kid: z.string('each key needs a "kid"').min(1) })
              .loose()
              .refine(
                (jwk) => !('d' in jwk),
                'public keys only: remove "d" (the private part never leaves USER_TOKEN_PRIVATE_JWK)',
              ),
          ),
        },
        'must be a JWKS: {"keys": [...]}',
      ),
    ),
    description:
      'Key rotation: JWKS (JSON) of public keys served at /.well-known/jwks.json beside the signing key, so tokens they sign keep verifying — the next key before it signs (deploy this first), the previous key until its last token expires (USER_ACCESS_TOKEN_TTL_SECONDS); `npm run keys -- rotate-user-token` prints the steps; unset = only the signing key',
    default: '{"keys":[]}',
    // Public by design, but a private key pasted here by mistake must not end up in an error log.
    secret: true,
  },
  USER_ACCESS_TOKEN_TTL_SECONDS: {
    schema: configSchemas.int(60, 3600),
    description: 'Lifetime of a user access token, in seconds (short: a stolen token expires soon)',
    default: '900',
  },
  USER_REFRESH_TOKEN_TTL_SECONDS: {
    schema: configSchemas.int(3600, 90 * 86_400),
    description: 'Lifetime of a refresh token (a session without activity), in seconds',
    default: '2592000',
  },
  REAL_CURRENCY: {
    schema: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as BRL or USD'),
    description:
      "The deployment's one real-money currency (ISO 4217); PTS is always the play currency",
    default: 'BRL',
  },
  KYC_DEPOSIT_THRESHOLD_MINOR: {
    schema: configSchemas.int(0),
    description:
      'Lifetime deposits (minor units of REAL_CURRENCY) above which KYC becomes required',
    default: '200000',
  },
  KYC_WEBHOOK_SECRET: {
    schema: z.string().min(16, 'must be at least 16 characters'),
    description: "Shared secret of the KYC provider's webhook signature (HMAC-SHA256)",
    secret: true,
  },
  USER_SIGNUP_PTS_GRANT_MINOR: {
    schema: configSchemas.int(0),
    description:
      'Play money (minor units of PTS) each new user receives once from house:PTS at registration; 0 disables the grant',
    default: '100000',
  },
  USER_REGISTER_PER_IP_PER_HOUR: {
    schema: configSchemas.int(1, 100_000),
    description:
      'Registrations allowed per client IP (x-forwarded-for) per hour, also the burst; more get RESOURCE_EXHAUSTED with when to retry',
    default: '10',
  },
  USER_LOGIN_PER_IP_PER_MINUTE: {
    schema: configSchemas.int(1, 100_000),
    description:
      'Log-in attempts allowed per client IP (x-forwarded-for) per minute, also the burst; more get RESOURCE_EXHAUSTED with when to retry',
    default: '30',
  },
  USER_SCRYPT_LOG_N: {
    schema: configSchemas.int(10, 20),
    description:
      'scrypt cost of password hashes, log2 N (15 = 32 MiB, ≈ 240 ms here); old hashes stay valid and are upgraded at login',
    default: '15',
  },
  USER_SCRYPT_P: {
    schema: configSchemas.int(1, 16),
    description: 'scrypt parallelisation of password hashes (OWASP: 3 with log2 N = 15)',
    default: '1',
  },
  DEVICE_ID_HASH_KEY: {
    schema: z.string().min(16, 'must be at least 16 characters'),
    description:
      'Key for hashing device ids before they go into events (fraud analysis without raw ids)',
    secret: true,
  },
  USER_TOTP_SECRET_KEY: {
    schema: z
      .string()
      .refine(
        (v) => v === '' || Buffer.from(v, 'base64').length === 32,
        'must be base64 of 32 random bytes (openssl rand -base64 32), or empty',
      ),
    description:
      'Key sealing two-step (TOTP) secrets at rest (AES-256-GCM, the user id as associated data), base64 of 32 bytes; empty = derived from DEVICE_ID_HASH_KEY by HKDF. Changing it makes existing secrets unreadable (their users must set two-step up again)',
    default: '',
    secret: true,
  },
  USER_REQUIRE_VERIFIED_EMAIL: {
    schema: configSchemas.oneOf(['auto', 'true', 'false']),
    description:
      'Whether real-money deposits and withdrawals need a confirmed email address (CheckEligibility answers EMAIL_NOT_VERIFIED until VerifyEmail): true, false, or auto = true in cluster mode, false when embedded (test money; the demo users read no mail)',
    default: 'auto',
  },
  MAIL_SMTP_URL: {
    schema: z
      .string()
      .refine(
        (url) => url === '' || /^smtps?:\/\/[^/]+/.test(url),
        'must be smtp://[user:pass@]host[:port] or smtps://…, or empty',
      ),
    description:
      'SMTP server the user service sends its emails through (verification, password reset, security notices), smtp://[user:pass@]host[:port] or smtps://…; empty = keep them in the local mailbox (the mail_outbox table; embedded mode and demos)',
    default: '',
    // May carry the SMTP password.
    secret: true,
  },
  MAIL_FROM: {
    schema: z.string().min(3),
    description: 'From header of the emails the user service sends',
    default: 'StreamBet <no-reply@streambet.local>',
  },
  MAIL_LINK_BASE_URL: {
    schema: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL'),
    description:
      'Base URL of the links in verification, password-reset and email-change emails (the web app: <base>/?view=verify-email&token=…, ?view=reset-password&token=…, ?view=confirm-email&token=…)',
    default: 'http://localhost:8080',
  },
});

/** The user service's configuration, validated and frozen. */
export type UserConfig = Config<typeof userConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadUserConfig(env: Environment = process.env): UserConfig {
  const config = checkPlatformConfig(loadConfig(userConfigSpec, env));
  const signingKid = config.USER_TOKEN_PRIVATE_JWK.kid;
  const kids = acceptedPublicKeys(config).map((jwk) => jwk.kid);
  const clash = kids.find((kid, i) => kid === signingKid || kids.indexOf(kid) !== i);
  if (clash !== undefined) {
    throw new ConfigError([
      {
        name: 'USER_TOKEN_ACCEPTED_PUBLIC_JWKS',
        problem: `lists kid "${clash}" ${clash === signingKid ? 'of the signing key (USER_TOKEN_PRIVATE_JWK)' : 'twice'}`,
        expected: 'public keys other than the signing key, each with its own kid',
      },
    ]);
  }
  return config;
}

/**
 * Whether real money needs a confirmed email address, as USER_REQUIRE_VERIFIED_EMAIL=auto resolves
 * it: a regulated deployment (cluster) requires it; the embedded demo's money is test money.
 */
export function requiresVerifiedEmail(config: UserConfig): boolean {
  if (config.USER_REQUIRE_VERIFIED_EMAIL !== 'auto')
    return config.USER_REQUIRE_VERIFIED_EMAIL === 'true';
  return config.STREAMBET_MODE !== 'embedded';
}

/** The public keys served beside the signing key (USER_TOKEN_ACCEPTED_PUBLIC_JWKS), maybe none. */
export function acceptedPublicKeys(config: UserConfig): ReadonlyArray<JWK & { kid: string }> {
  return config.USER_TOKEN_ACCEPTED_PUBLIC_JWKS.keys;
}
