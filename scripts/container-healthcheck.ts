// The container image's HEALTHCHECK (Dockerfile): exits 0 when this container's process answers
// GET /health/live with 200 within 2 s, else 1. Run by node itself (`node scripts/container-
// healthcheck.ts`, Node's own type stripping, so erasable syntax only and no imports): slim images
// have no curl, and tsx would add its start-up cost to every probe. The port is $PORT, else the
// deployable's default port for $SERVICE (the same table as servicePorts in
// packages/platform/src/runtime/platform-config.ts; gateway/test/deploy.unit.spec.ts keeps them equal).

/** Default port per deployable, as in platform-config.ts servicePorts. */
export const defaultPorts = Object.freeze({
  user: 7001,
  'bet-engine': 7002,
  pool: 7003,
  settlement: 7004,
  payment: 7005,
  integration: 7006,
  realtime: 7007,
  analytics: 7008,
  gateway: 8080,
});

/** The port the probe calls: $PORT when set, else the default of $SERVICE. */
export function probePort(env: Readonly<Record<string, string | undefined>>): number | undefined {
  if (env.PORT !== undefined && env.PORT !== '') return Number(env.PORT);
  const service = env.SERVICE ?? '';
  return Object.hasOwn(defaultPorts, service)
    ? defaultPorts[service as keyof typeof defaultPorts]
    : undefined;
}

if (import.meta.main) {
  const port = probePort(process.env);
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health/live`, {
      signal: AbortSignal.timeout(2000),
    });
    process.exitCode = response.status === 200 ? 0 : 1;
  } catch {
    process.exitCode = 1;
  }
}
