/**
 * Who may call each user-service RPC (contract comments in user.proto and internal.proto). The
 * interceptor enforces the role; handlers then enforce ownership (a viewer reads only their own
 * data) and, for internal RPCs, which service may call.
 */
import {
  anyUser,
  definePolicy,
  services,
  type AccessPolicy,
} from '@streambet/platform/auth/auth-interceptor';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';

const ownPlayer = ['viewer', 'streamer'] as const;

/** Access policy of UserService (Register, Login, Refresh, Logout and GetJwks need no token). */
export const userServicePolicy: AccessPolicy = definePolicy(UserService, {
  register: ['public'],
  login: ['public'],
  refresh: ['public'],
  logout: ['public'],
  getJwks: ['public'],
  getProfile: anyUser,
  updateProfile: anyUser,
  startKyc: ownPlayer,
  getKycStatus: anyUser,
  listKycCases: ['admin'],
  reviewKyc: ['admin'],
  getLimits: anyUser,
  setDepositLimit: ownPlayer,
  setLossLimit: ownPlayer,
  startCoolOff: ownPlayer,
  selfExclude: ownPlayer,
  freezeAccount: ['admin'],
  unfreezeAccount: ['admin'],
  // The user service's own credential: the operator command finds the account by email.
  listUsers: ['admin', ...services('user')],
  verifyEmail: ['public'],
  resendVerification: anyUser,
  requestPasswordReset: ['public'],
  resetPassword: ['public'],
  changePassword: anyUser,
  listSessions: anyUser,
  revokeSession: anyUser,
  revokeSessions: anyUser,
  getTwoStepStatus: anyUser,
  beginTwoStep: anyUser,
  confirmTwoStep: anyUser,
  disableTwoStep: anyUser,
  completeLogin: ['public'],
  requestEmailChange: anyUser,
  confirmEmailChange: ['public'],
  // The user service's own credential: the operator's `npm run admin -- grant` (the first admin).
  setUserRole: ['admin', ...services('user')],
  getWallet: anyUser,
  listTransactions: anyUser,
});

/**
 * Access policy of UserInternalService: services only, never user tokens, and per method only the
 * services that call it (internal.proto), so another service's credential cannot grant a role.
 */
export const userInternalServicePolicy: AccessPolicy = definePolicy(UserInternalService, {
  checkEligibility: services('bet-engine', 'payment'),
  reserveStakes: services('bet-engine'),
  getUsers: ['service'],
  grantRole: services('integration'),
  verifySecondFactor: services('payment'),
});
