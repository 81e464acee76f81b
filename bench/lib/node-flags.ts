/**
 * The V8 flags the platform runs with (package.json `start`, k8s/00-namespace-config.yaml,
 * docker-compose.yml): a benchmark that hosts services in its own processes runs them as deployed.
 */
export const platformNodeFlags: readonly string[] = ['--max-semi-space-size=64'];
