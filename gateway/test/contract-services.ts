import type { DescService } from '@bufbuild/protobuf';
import * as analytics from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import * as betEngine from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import * as integration from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import * as payment from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import * as pool from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import * as realtime from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import * as settlement from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import * as userInternal from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import * as ledger from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import * as notifications from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import * as user from '@streambet/contracts/gen/streambet/user/v1/user_pb';

/** Every service descriptor the generated contracts export (found by kind, not by a hand list). */
export function allContractServices(): DescService[] {
  const modules: object[] = [
    analytics,
    betEngine,
    integration,
    payment,
    pool,
    realtime,
    settlement,
    userInternal,
    ledger,
    notifications,
    user,
  ];
  return modules.flatMap((module) =>
    Object.values(module).filter(
      (value): value is DescService =>
        typeof value === 'object' &&
        value !== null &&
        (value as { kind?: unknown }).kind === 'service',
    ),
  );
}
