import { busTargets } from '@streambet/testkit/bus';
import { describeEventBusContract } from '@streambet/testkit/bus-contract';

// Memory always; Redis Streams with TEST_REDIS_URL; Kafka with KAFKA_BROKERS (skipped otherwise, with the reason in the title).
for (const target of busTargets()) {
  describeEventBusContract(target.name, () => target.create(), {
    ...target.tuning,
    skipReason: target.skipReason,
  });
}
