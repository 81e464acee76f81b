import {
  anyUser,
  definePolicy,
  type AccessPolicy,
} from '@streambet/platform/auth/auth-interceptor';
import { PaymentService } from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';

/**
 * Who may call each payment RPC. Internal services take only service credentials (the gateway
 * never routes them); streamer actions are checked again against channel ownership in the handler.
 */
export const paymentPolicy: AccessPolicy = {
  ...definePolicy(PaymentService, {
    createDeposit: anyUser,
    requestWithdrawal: anyUser,
    getPayment: anyUser,
    listPayments: anyUser,
    listReconciliationReports: ['admin'],
  }),
};
