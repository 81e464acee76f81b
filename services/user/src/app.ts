import { anyUser, definePolicy } from '@streambet/platform/auth/auth-interceptor';
import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import type { UserConfig } from './config.js';
import { userMigrations } from './migrations/index.js';

/** The user service as the platform runs it: identity, KYC, limits and the ledger (issue 3). */
export const userService: ServiceDefinition<UserConfig> = {
  name: 'user',
  migrations: userMigrations,
  create: () => ({
    routes(router) {
      router.service(UserService, {});
      router.service(UserInternalService, {});
      router.service(LedgerInternalService, {});
    },
    policy: {
      ...definePolicy(UserService, {
        register: ['public'],
        login: ['public'],
        refresh: ['public'],
        logout: anyUser,
        getProfile: anyUser,
        updateProfile: anyUser,
        getJwks: ['public'],
        startKyc: anyUser,
        getKycStatus: anyUser,
        listKycCases: ['admin'],
        reviewKyc: ['admin'],
        getLimits: anyUser,
        setDepositLimit: anyUser,
        setLossLimit: anyUser,
        startCoolOff: anyUser,
        selfExclude: anyUser,
        freezeAccount: ['admin'],
        unfreezeAccount: ['admin'],
        listUsers: ['admin'],
        getWallet: anyUser,
        listTransactions: anyUser,
      }),
      ...definePolicy(UserInternalService, {
        checkEligibility: ['service'],
        getUsers: ['service'],
        grantRole: ['service'],
      }),
      ...definePolicy(LedgerInternalService, {
        createAccounts: ['service'],
        lookupAccounts: ['service'],
        submitTransfers: ['service'],
        lookupTransfers: ['service'],
        getAccountBalances: ['service'],
        listAccountTransfers: ['service'],
        getLedgerTotals: ['service'],
      }),
    },
  }),
};
