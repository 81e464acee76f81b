import { z } from 'zod';
import {
  configSchemas,
  defineConfig,
  loadConfig,
  ConfigError,
  type Config,
  type ConfigProblem,
  type Environment,
} from '@streambet/platform/config/load-config';
import {
  checkPlatformConfig,
  platformConfigSpec,
} from '@streambet/platform/runtime/platform-config';

/**
 * Every environment variable the integration service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 * Secrets left empty fall back to the public development values of `fakes/dev-keys.ts` when
 * embedded; in cluster mode an empty secret leaves that part unconfigured (its webhooks are refused,
 * linking answers FAILED_PRECONDITION), as a payment provider without keys is.
 */
export const integrationConfigSpec = defineConfig({
  ...platformConfigSpec('integration', ['user', 'pool']),
  INTEGRATION_PROVIDERS: {
    schema: configSchemas.oneOf(['auto', 'fake', 'live']),
    description:
      'Which platform APIs the service calls: fake (local Twitch and Kick fakes in this process; STREAMBET_MODE=embedded only), live (the INTEGRATION_*_URL endpoints) or auto (fake when embedded, live in cluster mode)',
    default: 'auto',
  },
  INTEGRATION_TOKEN_KEY: {
    schema: z64(),
    description:
      'Key sealing platform OAuth tokens and PKCE verifiers at rest (AES-256-GCM), base64 of 32 bytes; empty = the public development key when embedded, linking disabled in cluster mode',
    default: '',
    secret: true,
  },
  INTEGRATION_TWITCH_WEBHOOK_SECRET: {
    schema: z
      .string()
      .refine((v) => v === '' || (v.length >= 10 && v.length <= 100), 'must be 10–100 chars'),
    description:
      'Secret our Twitch EventSub subscriptions are created with; /webhooks/twitch deliveries must carry its HMAC-SHA256 (10–100 chars); empty = the public development secret when embedded, Twitch webhooks refused in cluster mode',
    default: '',
    secret: true,
  },
  INTEGRATION_KICK_PUBLIC_KEY: {
    schema: configSchemas.string().or(emptyString()),
    description:
      "Kick's published webhook public key (PEM, \\n allowed for newlines) verifying /webhooks/kick signatures; empty = the simulated Kick's development key when embedded, Kick webhooks refused in cluster mode",
    default: '',
  },
  INTEGRATION_TWITCH_CLIENT_ID: {
    schema: z.string(),
    description: 'Twitch application client id (OAuth and Helix); required with live providers',
    default: '',
  },
  INTEGRATION_TWITCH_CLIENT_SECRET: {
    schema: z.string(),
    description: 'Twitch application client secret; required with live providers',
    default: '',
    secret: true,
  },
  INTEGRATION_TWITCH_AUTH_URL: {
    schema: configSchemas.url(['https:', 'http:']),
    description: 'Base URL of Twitch OAuth (authorize, token, revoke)',
    default: 'https://id.twitch.tv',
  },
  INTEGRATION_TWITCH_API_URL: {
    schema: configSchemas.url(['https:', 'http:']),
    description: 'Base URL of the Twitch Helix API (users, eventsub/subscriptions)',
    default: 'https://api.twitch.tv/helix',
  },
  INTEGRATION_KICK_CLIENT_ID: {
    schema: z.string(),
    description: 'Kick application client id; required with live providers',
    default: '',
  },
  INTEGRATION_KICK_CLIENT_SECRET: {
    schema: z.string(),
    description: 'Kick application client secret; required with live providers',
    default: '',
    secret: true,
  },
  INTEGRATION_KICK_AUTH_URL: {
    schema: configSchemas.url(['https:', 'http:']),
    description: 'Base URL of Kick OAuth (oauth/authorize, oauth/token)',
    default: 'https://id.kick.com',
  },
  INTEGRATION_KICK_API_URL: {
    schema: configSchemas.url(['https:', 'http:']),
    description:
      'Base URL of the Kick public API (public/v1/users, public/v1/events/subscriptions)',
    default: 'https://api.kick.com',
  },
  INTEGRATION_WEBHOOK_BASE_URL: {
    schema: configSchemas.url(['https:', 'http:']),
    description:
      'Public base URL of the gateway, where platforms deliver webhooks (<base>/webhooks/twitch); Twitch requires https on port 443',
    default: 'http://127.0.0.1:8080',
  },
  INTEGRATION_REDIRECT_URIS: {
    schema: configSchemas.list(),
    description:
      'Comma-separated allow-list of OAuth redirect URIs (prefixes) BeginChannelLink accepts (web app, mobile deep link)',
    default:
      'http://localhost:5173/,http://127.0.0.1:5173/,http://localhost:8080/,http://127.0.0.1:8080/,streambet://',
  },
  INTEGRATION_RECONCILE_INTERVAL_MS: {
    schema: configSchemas.int(1000, 86_400_000),
    description:
      'How often Twitch EventSub subscriptions are reconciled (missing or revoked ones recreated, foreign ones deleted) and tokens refreshed before expiry, in ms',
    default: '300000',
  },
  INTEGRATION_PLATFORM_TIMEOUT_MS: {
    schema: configSchemas.int(100, 60_000),
    description: 'Timeout of one call to a platform API, in ms',
    default: '5000',
  },
  INTEGRATION_YOUTUBE_API_URL: {
    schema: configSchemas.url(['https:', 'http:']),
    description:
      'Base URL of the YouTube Data API v3 (channels, playlistItems, videos); the local fake when providers are fake',
    default: 'https://www.googleapis.com/youtube/v3',
  },
  INTEGRATION_YOUTUBE_API_KEY: {
    schema: z.string().max(200),
    description:
      'YouTube Data API key (live state is polled with it); empty = YouTube linking off with live providers',
    default: '',
    secret: true,
  },
  INTEGRATION_YOUTUBE_QUOTA_UNITS_PER_DAY: {
    schema: configSchemas.int(100, 100_000_000),
    description:
      'YouTube Data API quota of the project, units per day; polls and linking never spend more in any 24 hours (1,000 channels fit in the default)',
    default: '10000',
  },
  INTEGRATION_YOUTUBE_MIN_POLL_INTERVAL_MS: {
    schema: configSchemas.int(5_000, 86_400_000),
    description:
      'Shortest interval between two polls of one YouTube channel, in ms (the quota may make it longer: each channel gets its fair share)',
    default: '60000',
  },
  INTEGRATION_YOUTUBE_MAX_OFFLINE_POLL_INTERVAL_MS: {
    schema: configSchemas.int(5_000, 86_400_000),
    description:
      'Longest interval between polls of a YouTube channel that stays offline (the interval doubles per offline poll up to this), in ms',
    default: '900000',
  },
});

function emptyString() {
  return z.literal('');
}

function z64() {
  return z
    .string()
    .refine(
      (v) => v === '' || Buffer.from(v, 'base64').length === 32,
      'must be base64 of exactly 32 bytes',
    );
}

/** The integration service's configuration, validated and frozen. */
export type IntegrationConfig = Config<typeof integrationConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadIntegrationConfig(env: Environment = process.env): IntegrationConfig {
  const config = loadConfig(integrationConfigSpec, env);
  const problems: ConfigProblem[] = [];
  try {
    checkPlatformConfig(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (config.STREAMBET_MODE === 'cluster') {
    if (config.INTEGRATION_PROVIDERS === 'fake') {
      problems.push({
        name: 'INTEGRATION_PROVIDERS',
        problem: 'is fake in cluster mode',
        expected: 'auto or live',
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
