import { describe, expect, it } from 'vitest';
import { createKafkaBus } from '@streambet/platform/bus/kafka';
import { UnavailableError } from '@streambet/platform/errors/domain-errors';

// No Kafka broker runs here (the contract suite covers a real one when KAFKA_BROKERS is set);
// this checks what a service sees when its broker is down: a clear, bounded failure.
describe('kafka bus without a broker', () => {
  it('fails ping with UnavailableError when no broker listens, and closes cleanly', async () => {
    const bus = createKafkaBus({
      brokers: ['127.0.0.1:1'],
      clientId: 'sbtest',
      kafka: { connectionTimeout: 500, retry: { retries: 0 }, logLevel: 0 },
      logger: { warn: () => {}, error: () => {} },
    });
    const failure = await bus.ping().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(UnavailableError);
    expect((failure as Error).message).toBe('event bus (kafka) unavailable: ping failed');
    await bus.close();
    await bus.close();
    await expect(bus.publish([])).rejects.toThrow(/closed/);
  });
});
