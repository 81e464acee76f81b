/**
 * Which real servers the test run may use. Set by `.ci/run` for the real-server pass; unset on a
 * fresh machine, where the suite runs on the embedded defaults only and says so when it skips.
 */
export const realServers = Object.freeze({
  /** e.g. postgres://postgres@127.0.0.1:5432/postgres — tests create and drop their own databases. */
  postgresUrl: process.env.TEST_DATABASE_URL ?? '',
  /** e.g. redis://127.0.0.1:6379 — tests use their own key prefixes. */
  redisUrl: process.env.TEST_REDIS_URL ?? '',
  /** e.g. http://127.0.0.1:8123 */
  clickhouseUrl: process.env.TEST_CLICKHOUSE_URL ?? '',
  /** Comma-separated Kafka brokers; no broker runs on these machines. */
  kafkaBrokers: process.env.KAFKA_BROKERS ?? '',
});
