// `npm run -s dlq -- list <topic> [--group g] [--event-id id]` lists the dead letters of a topic
// (`market` → the `market.dlq` topic of the configured bus); `… replay <topic> --group g
// [--event-id id]` republishes them to `<topic>` for that consumer group only (see
// packages/platform/src/bus/dead-letters.ts). The bus comes from the services' variables:
// EVENT_BUS=redis-streams with REDIS_URL, or EVENT_BUS=kafka with KAFKA_BROKERS. The in-process
// bus (EVENT_BUS=memory, `npm start`) keeps its dead letters inside that process: this command
// cannot reach them; they are in that process's logs ("event dead-lettered") and in
// bus_dead_lettered_total, and are gone after a restart (the outbox rows are not).
import { Redis } from 'ioredis';
import { loadConfig } from '@streambet/platform/config/load-config';
import {
  kafkaDeadLetters,
  redisDeadLetters,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterStore,
} from '@streambet/platform/bus/dead-letters';
import { createKafkaBus } from '@streambet/platform/bus/kafka';
import { createRedisStreamsBus } from '@streambet/platform/bus/redis-streams';
import { cacheConfigSpec, storageConfigSpec } from '@streambet/platform/runtime/platform-config';

const usage =
  'usage: npm run -s dlq -- list <topic> [--group g] [--event-id id]\n' +
  '       npm run -s dlq -- replay <topic> --group g [--event-id id]\n';

function parse(argv: readonly string[]): {
  command: 'list' | 'replay';
  topic: string;
  filter: DeadLetterFilter;
} {
  const [command, topic, ...rest] = argv;
  if ((command !== 'list' && command !== 'replay') || topic === undefined || topic.startsWith('-'))
    fail(usage);
  const filter: { group?: string; eventId?: string } = {};
  for (let i = 0; i < rest.length; i += 2) {
    const value = rest[i + 1];
    if (value === undefined) fail(`${rest[i]} needs a value\n${usage}`);
    if (rest[i] === '--group') filter.group = value;
    else if (rest[i] === '--event-id') filter.eventId = value;
    else fail(`unknown option ${rest[i]}\n${usage}`);
  }
  if (command === 'replay' && filter.group === undefined) fail(`replay needs --group\n${usage}`);
  return { command, topic, filter };
}

/** Exits with `code`: 64 (usage) by default, 78 (configuration) when the bus cannot be reached. */
function fail(message: string, code = 64): never {
  process.stderr.write(message);
  process.exit(code);
}

function open(): DeadLetterStore {
  const config = loadConfig({ ...storageConfigSpec, ...cacheConfigSpec });
  if (config.EVENT_BUS === 'redis-streams') {
    // The stream prefix and partition count every service uses (runtime/infra.ts).
    const streamPrefix = 'streambet:bus';
    const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
    const bus = createRedisStreamsBus({ redis, streamPrefix, consumerName: `dlq-${process.pid}` });
    const store = redisDeadLetters({ redis, bus, streamPrefix });
    return {
      ...store,
      async close() {
        await store.close();
        redis.disconnect();
      },
    };
  }
  if (config.EVENT_BUS === 'kafka') {
    const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'streambet-dlq' });
    return kafkaDeadLetters({ brokers: config.KAFKA_BROKERS, clientId: 'streambet-dlq', bus });
  }
  fail(
    'EVENT_BUS=memory: the in-process bus keeps its dead letters inside the running process, which this command cannot reach. Look for "event dead-lettered" in its logs; its outbox rows are kept and a restart redelivers what was not confirmed.\n',
    78,
  );
}

function line(deadLetter: DeadLetter): string {
  return JSON.stringify({
    eventId: deadLetter.event.id,
    type: deadLetter.event.type,
    key: deadLetter.event.key,
    topic: deadLetter.originalTopic,
    group: deadLetter.group,
    attempts: deadLetter.attempts,
    failedAt: new Date(deadLetter.failedAtMs).toISOString(),
    error: deadLetter.error,
    ref: deadLetter.ref,
  });
}

const { command, topic, filter } = parse(process.argv.slice(2));
const store = open();
try {
  const chosen =
    command === 'list' ? await store.list(topic, filter) : await store.replay(topic, filter);
  for (const deadLetter of chosen) process.stdout.write(`${line(deadLetter)}\n`);
  process.stderr.write(
    `${chosen.length} dead letter(s) ${command === 'list' ? 'listed' : `replayed to ${topic}`}\n`,
  );
} finally {
  await store.close();
}
