/**
 * The user service's wiring: one service host serving the routes, consumers and tasks of its two
 * modules, identity/ (users, sessions, KYC, limits) and ledger/ (accounts, transfers, wallets).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import { acceptedPublicKeys, requiresVerifiedEmail, type UserConfig } from './config.js';
import { createIdentityStore } from './identity/store/index.js';
import { createFakeKycProvider, noKycProvider } from './identity/kyc-provider.js';
import { createKycWebhookHandler } from './identity/kyc-webhook.js';
import { startHoldExpiry } from './ledger/hold-expiry.js';
import { openStakesOf } from './ledger/open-stakes.js';
import { ledgerPolicy } from './ledger/policy.js';
import { createLedgerInternalService } from './ledger/routes.js';
import {
  createLedgerStore,
  withGroupCommit,
  type LedgerStore,
  type LedgerStoreOptions,
} from './ledger/store/index.js';
import { createStakeReservation } from './reservation/index.js';
import { identityMigrations } from './identity/migrations/index.js';
import { ledgerMigrations } from './ledger/migrations/index.js';
import { walletEvents } from './ledger/wallet-events.js';
import { appendToOutbox } from '@streambet/platform/outbox/outbox';
import { newEventId } from '@streambet/platform/outbox/event-id';
import { createPasswordHasher } from './identity/password-hasher.js';
import {
  createPaymentEventHandler,
  createSettlementEventHandler,
} from './identity/payment-events.js';
import { createTokenIssuer } from './identity/token-issuer.js';
import { createUserInternalService } from './identity/internal-routes.js';
import { createWalletOpener } from './ledger/wallet-opening.js';
import { createWalletService } from './ledger/wallet-routes.js';
import { sealBareTotpSecrets } from './identity/two-step.js';
import { createLoginFailureRetention } from './identity/login-failure-retention.js';
import { userInternalServicePolicy, userServicePolicy } from './identity/policy.js';
import {
  applyDueLimitChanges,
  createUserService,
  type UserServiceSettings,
} from './identity/routes.js';
import { writeHead } from '@streambet/platform/rpc/http-response';
import { createMailSender } from './mail/sender.js';
import { createSmtpTransport, mailboxTransport } from './mail/transport.js';
import { mailboxPath, mailboxResponse } from './mail/mailbox-page.js';
import { NotificationService } from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import { createNotificationConsumer, notificationTopics } from './notifications/consumer.js';
import { createNotificationService, notificationPolicy } from './notifications/routes.js';

/** Where the user service publishes the public keys of its access tokens. */
export const jwksPath = '/.well-known/jwks.json';
/** Where the KYC provider posts its decisions (signed; the raw body is verified). */
export const kycWebhookPath = '/webhooks/kyc';
const maxWebhookBytes = 64 * 1024;
const limitSweepIntervalMs = 60_000;

/**
 * The user service: identity, KYC, responsible-gambling limits and the ledger. The wallet view
 * (GetWallet, ListTransactions) reads the ledger.
 */
export const userService: ServiceDefinition<UserConfig> = {
  name: 'user',
  migrations: [...identityMigrations, ...ledgerMigrations],
  create(ctx) {
    const { sql, clock, config } = ctx;
    const settings: UserServiceSettings = {
      realCurrency: config.REAL_CURRENCY,
      kycThresholdMinor: BigInt(config.KYC_DEPOSIT_THRESHOLD_MINOR),
      refreshTokenTtlSeconds: config.USER_REFRESH_TOKEN_TTL_SECONDS,
      deviceIdHashKey: config.DEVICE_ID_HASH_KEY,
      totpSecretKey: config.USER_TOTP_SECRET_KEY,
      mailLinkBaseUrl: config.MAIL_LINK_BASE_URL,
      requireVerifiedEmail: requiresVerifiedEmail(config),
    };
    const mailTransport =
      config.MAIL_SMTP_URL === ''
        ? mailboxTransport
        : createSmtpTransport({ url: config.MAIL_SMTP_URL, from: config.MAIL_FROM });
    if (mailTransport === mailboxTransport && config.STREAMBET_MODE !== 'embedded') {
      ctx.logger.warn('MAIL_SMTP_URL is empty: emails stay in the local mailbox (mail_outbox)');
    }
    const mailSender = createMailSender({
      sql,
      transport: mailTransport,
      clock,
      onError: (error, messageId) =>
        ctx.logger.warn({ err: error, messageId }, 'sending an email failed; it will be retried'),
    });
    let mailLoop: { wake(): void; stop(): Promise<void> } | undefined;
    let recoveryPrune: NodeJS.Timeout | undefined;
    const store = createIdentityStore(sql, { clock });
    const tokens = createTokenIssuer({
      signingKey: config.USER_TOKEN_PRIVATE_JWK,
      additionalPublicKeys: acceptedPublicKeys(config),
      issuer: config.USER_TOKEN_ISSUER,
      audience: config.USER_TOKEN_AUDIENCE,
      accessTokenTtlSeconds: config.USER_ACCESS_TOKEN_TTL_SECONDS,
      clock,
    });
    const ledgerOptions: LedgerStoreOptions = {
      clock,
      currencies: { real: config.REAL_CURRENCY },
      // wallet.* events go to the outbox in the transaction that moves the money.
      onCommitted: async (tx, effects) => {
        const { ids, events } = walletEvents(effects, newEventId);
        await appendToOutbox(tx, events, {
          clock: () => clock.now(),
          newId: () => ids.shift()!,
        });
      },
    };
    const ledger = wakeRelayAfterCommits(
      withGroupCommit(createLedgerStore(sql, ledgerOptions)),
      () => ctx.outboxCommitted(),
    );
    const walletOpener = createWalletOpener({
      sql,
      ledger,
      realCurrency: config.REAL_CURRENCY,
      signupGrantPtsMinor: BigInt(config.USER_SIGNUP_PTS_GRANT_MINOR),
      nowMs: () => clock.now(),
    });
    // No real KYC provider can be reached from here yet. The fake exists in embedded mode only (it
    // accepts submissions, keeps none of them, and decisions arrive through the signed webhook or
    // ReviewKyc); cluster mode refuses StartKyc rather than pretend to verify anyone.
    const kycProvider =
      config.STREAMBET_MODE === 'embedded'
        ? createFakeKycProvider({ secret: config.KYC_WEBHOOK_SECRET, clock, keepSubmissions: 0 })
        : noKycProvider;
    if (kycProvider === noKycProvider) {
      ctx.logger.warn(
        'no KYC provider is configured: StartKyc answers FAILED_PRECONDITION; the KYC webhook and ReviewKyc still work',
      );
    }
    const handleKycWebhook = createKycWebhookHandler({
      sql,
      store,
      clock,
      secret: config.KYC_WEBHOOK_SECRET,
    });
    const paymentEvents = createPaymentEventHandler({
      sql,
      store,
      realCurrency: config.REAL_CURRENCY,
    });
    const settlementEvents = createSettlementEventHandler({
      sql,
      store,
      realCurrency: config.REAL_CURRENCY,
    });
    const notifications = createNotificationConsumer({
      sql,
      clock,
      appendEvents: (db, events) => store.appendEvents(db, events),
      linkBaseUrl: config.MAIL_LINK_BASE_URL,
    });
    let holdExpiry: { stop(): Promise<void> } | undefined;
    let walletSweep: Promise<void> | undefined;
    let totpSealing: Promise<void> | undefined;
    let limitSweep: NodeJS.Timeout | undefined;

    return {
      routes(router) {
        router.service(UserService, {
          ...createWalletService({ ledger, realCurrency: config.REAL_CURRENCY }),
          ...createUserService({
            sql,
            store,
            clock,
            settings,
            hasher: createPasswordHasher({
              logN: config.USER_SCRYPT_LOG_N,
              r: 8,
              p: config.USER_SCRYPT_P,
            }),
            tokens,
            ipLimits: {
              cache: ctx.cache,
              register: {
                capacity: config.USER_REGISTER_PER_IP_PER_HOUR,
                refillPerSecond: config.USER_REGISTER_PER_IP_PER_HOUR / 3600,
              },
              login: {
                capacity: config.USER_LOGIN_PER_IP_PER_MINUTE,
                refillPerSecond: config.USER_LOGIN_PER_IP_PER_MINUTE / 60,
              },
            },
            afterUserRegistered: (userId) => walletOpener.open(userId),
            onAfterRegisteredError: (error, userId) =>
              ctx.logger.error(
                { err: error, userId },
                'opening wallets after registration failed; the start-up sweep will retry',
              ),
            kycProvider,
            onMailQueued: () => mailLoop?.wake(),
          }),
        });
        router.service(UserInternalService, {
          ...createUserInternalService({
            sql,
            store,
            clock,
            settings,
            openStakes: (userIds) => openStakesOf(ledger, config.REAL_CURRENCY, userIds),
          }),
          ...createStakeReservation({
            sql,
            identity: store,
            clock,
            settings,
            ledgerOptions,
            onCommitted: () => ctx.outboxCommitted(),
          }),
        });
        router.service(LedgerInternalService, createLedgerInternalService({ store: ledger }));
        router.service(NotificationService, createNotificationService({ sql, clock }));
      },
      policy: {
        ...userServicePolicy,
        ...userInternalServicePolicy,
        ...ledgerPolicy,
        ...notificationPolicy,
      },
      http: (req, res) => {
        const path = (req.url ?? '').split('?')[0];
        if (req.method === 'GET' && path === jwksPath) {
          writeHead(res, 200, {
            'content-type': 'application/jwk-set+json',
            'cache-control': `public, max-age=${tokens.jwksMaxAgeSeconds}`,
          });
          res.end(tokens.jwksJson());
          return true;
        }
        if (
          req.method === 'GET' &&
          path === mailboxPath &&
          config.STREAMBET_MODE === 'embedded' &&
          mailTransport === mailboxTransport
        ) {
          const search = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
          void mailboxResponse(sql, search).then(
            (page) => {
              writeHead(res, 200, {
                'content-type': page.contentType,
                'cache-control': 'no-store',
              });
              res.end(page.body);
            },
            (error: unknown) => {
              ctx.logger.error({ err: error }, 'dev mailbox failed');
              writeHead(res, 500, { 'content-type': 'text/plain' });
              res.end('internal error');
            },
          );
          return true;
        }
        if (req.method === 'POST' && path === kycWebhookPath) {
          void serveWebhook(req, res, handleKycWebhook, ctx.logger);
          return true;
        }
        return false;
      },
      consumers: [
        {
          name: 'payment-deposits',
          topics: ['payment'],
          // Credits deposits: money must never be dropped with a dead letter.
          maxAttempts: 'unlimited',
          handleIdempotently: async (e) => void (await paymentEvents(e)),
        },
        {
          name: 'settlement-losses',
          topics: ['settlement'],
          maxAttempts: 'unlimited',
          handleIdempotently: async (e) => void (await settlementEvents(e)),
        },
        {
          name: 'notifications',
          topics: [...notificationTopics],
          maxAttempts: 'unlimited',
          handleIdempotently: notifications,
        },
      ],
      tasks: [
        {
          name: 'wallet-opening-sweep',
          start() {
            walletSweep = (async () => {
              while ((await walletOpener.sweep(1000)) === 1000) {
                // a full page: more registrations to repair
              }
            })().catch((error: unknown) =>
              ctx.logger.error({ err: error }, 'opening wallets of earlier registrations failed'),
            );
          },
          async stop() {
            await walletSweep;
          },
        },
        {
          name: 'totp-secret-sealing',
          start() {
            // Rows written before secrets were sealed at rest (issue 17) are sealed once here.
            totpSealing = sealBareTotpSecrets({ sql, store, settings })
              .then((sealed) => {
                if (sealed > 0) ctx.logger.info({ sealed }, 'sealed stored two-step secrets');
              })
              .catch((error: unknown) =>
                ctx.logger.error({ err: error }, 'sealing stored two-step secrets failed'),
              );
          },
          async stop() {
            await totpSealing;
          },
        },
        {
          name: 'hold-expiry',
          start() {
            holdExpiry = startHoldExpiry({
              store: ledger,
              clock,
              onError: (error) => ctx.logger.error({ err: error }, 'hold expiry sweep failed'),
            });
          },
          async stop() {
            await holdExpiry?.stop();
          },
        },
        {
          name: 'limit-sweep',
          start() {
            limitSweep = setInterval(() => {
              applyDueLimitChanges({ sql, store, clock, settings }).catch((error: unknown) =>
                ctx.logger.error({ err: error }, 'applying due limit changes failed'),
              );
            }, limitSweepIntervalMs);
            limitSweep.unref();
          },
          stop() {
            clearInterval(limitSweep);
            return Promise.resolve();
          },
        },
        {
          name: 'mail-sender',
          start() {
            mailLoop = startMailLoop(mailSender, (error) =>
              ctx.logger.error({ err: error }, 'mail sender round failed'),
            );
          },
          async stop() {
            await mailLoop?.stop();
            mailTransport.close();
          },
        },
        {
          // Ended throttle windows, long-expired emailed tokens, mail delivered 30+ days ago.
          name: 'account-recovery-retention',
          start() {
            recoveryPrune = setInterval(() => {
              store
                .pruneAccountRecovery(sql, clock.now(), 30 * 86_400_000)
                .catch((error: unknown) =>
                  ctx.logger.error({ err: error }, 'pruning account-recovery rows failed'),
                );
            }, 3_600_000);
            recoveryPrune.unref();
          },
          stop() {
            clearInterval(recoveryPrune);
            return Promise.resolve();
          },
        },
        createLoginFailureRetention({
          sql,
          store,
          clock,
          registry: ctx.registry,
          logger: ctx.logger,
          ...(settings.loginThrottle === undefined ? {} : { policy: settings.loginThrottle }),
        }),
      ],
    };
  },
};

/** Sends due mail every second, and at once when woken after a commit that queued some. */
function startMailLoop(
  sender: ReturnType<typeof createMailSender>,
  onError: (error: unknown) => void,
): { wake(): void; stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  const round = (): void => {
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = sender
      .sendDue()
      .then(
        () => undefined,
        (error: unknown) => onError(error),
      )
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          round();
        }
      });
  };
  const timer = setInterval(round, 1000);
  timer.unref();
  return {
    wake: round,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** The ledger with the outbox relay woken after every commit, so wallet events leave at once. */
function wakeRelayAfterCommits(store: LedgerStore, wake: () => void): LedgerStore {
  return {
    ...store,
    async submitTransfers(commands) {
      const outcomes = await store.submitTransfers(commands);
      wake();
      return outcomes;
    },
    async resolveMarketHolds(query) {
      const result = await store.resolveMarketHolds(query);
      if (result.resolvedCount > 0 || result.expiredCount > 0) wake();
      return result;
    },
    async expirePendingTransfers(nowMs, limit) {
      const expired = await store.expirePendingTransfers(nowMs, limit);
      if (expired > 0) wake();
      return expired;
    },
  };
}

/** Reads the raw body (bounded) and answers with the webhook handler's verdict. */
async function serveWebhook(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  handle: ReturnType<typeof createKycWebhookHandler>,
  logger: { error(fields: object, message: string): void },
): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxWebhookBytes) {
        writeHead(res, 413, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `body larger than ${maxWebhookBytes} bytes` }));
        return;
      }
      chunks.push(chunk);
    }
    const answer = await handle(new Uint8Array(Buffer.concat(chunks)), req.headers);
    writeHead(res, answer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  } catch (error) {
    logger.error({ err: error }, 'KYC webhook failed');
    if (!res.headersSent) writeHead(res, 500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'internal error' }));
  }
}
