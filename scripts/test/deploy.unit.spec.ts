/**
 * The deployment files' invariants, read from the files themselves (no Docker engine runs on the
 * CI machines, so the image is never built here): one Dockerfile on the Node.js of .node-version,
 * production dependencies only, a non-root user and a health check; docker-compose.yml and every
 * k8s Deployment run that image (no source mounted into a stock Node image), unprivileged, with
 * probes on /health/live and /health/ready and the tuned young generation.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { servicePorts, type ServiceName } from '@streambet/platform/runtime/platform-config';
import { repoPath } from '@streambet/testkit/process';
import { defaultPorts, probePort } from '../container-healthcheck.js';

const run = promisify(execFile);
const read = (file: string): string => fs.readFileSync(repoPath(file), 'utf8');
const deployables = Object.keys(servicePorts) as ServiceName[];
const nodeOptions = '--max-semi-space-size=64';
/** The image tag compose builds and k8s deploys. */
const imageOf = (name: string): string => `streambet/${name}:dev`;

/** One `FROM … [AS name]` stage of the Dockerfile and its instructions (continuations joined). */
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly lines: string[];
}

function dockerfile(): { args: Map<string, string>; stages: Stage[] } {
  const joined = read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of joined) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from !== null) {
      stages.push({ from: from[1]!, name: from[2], lines: [] });
    } else if (stages.length === 0) {
      const arg = /^ARG\s+(\w+)=(\S+)/.exec(line);
      if (arg !== null) args.set(arg[1]!, arg[2]!);
    } else {
      stages.at(-1)!.lines.push(line);
    }
  }
  return { args, stages };
}

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; args?: Record<string, string> };
  command?: unknown;
  volumes?: unknown;
  read_only?: boolean;
  cap_drop?: string[];
  environment?: Record<string, string | number>;
}

interface Container {
  name: string;
  image: string;
  command?: unknown;
  securityContext?: { allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean };
  ports?: Array<{ name: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
}

interface K8sObject {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    template?: {
      metadata?: { annotations?: Record<string, string> };
      spec: {
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
        containers: Container[];
      };
    };
  };
}

function k8sObjects(): K8sObject[] {
  return fs
    .readdirSync(repoPath('k8s'))
    .filter((file) => file.endsWith('.yaml'))
    .flatMap((file) =>
      parseAllDocuments(read(`k8s/${file}`)).map((doc) => {
        expect(doc.errors, file).toEqual([]);
        return doc.toJS() as K8sObject;
      }),
    );
}

describe('the Dockerfile', () => {
  const { args, stages } = dockerfile();
  const finalStage = stages.at(-1)!;
  const stageNamed = (name: string | undefined): Stage | undefined =>
    stages.find((stage) => stage.name === name);
  /** A stage and every stage it builds FROM, innermost first. */
  const lineage = (stage: Stage): Stage[] => {
    const parent = stageNamed(stage.from);
    return parent === undefined ? [stage] : [stage, ...lineage(parent)];
  };

  it('given .node-version, then every Node base image is that exact version (so its major)', () => {
    const nodeVersion = read('.node-version').trim();
    expect(args.get('NODE_VERSION')).toBe(nodeVersion);
    const nodeBases = stages
      .map((stage) => stage.from.replace('${NODE_VERSION}', args.get('NODE_VERSION') ?? ''))
      .filter((from) => from.startsWith('node:'));
    expect(nodeBases.length).toBeGreaterThan(0);
    for (const base of nodeBases) {
      expect(base).toMatch(/^node:\d+\.\d+\.\d+-bookworm-slim$/);
      expect(base.split(':')[1]!.split('.')[0]).toBe(nodeVersion.split('.')[0]);
    }
  });

  it('given the final stage, then it runs as a non-root user with production dependencies only', () => {
    const users = finalStage.lines.filter((line) => /^USER\s/.test(line));
    expect(users).toEqual(['USER node']);
    const dependencyStages = finalStage.lines
      .map((line) => /^COPY\s+--from=(\S+)\s+\/app\/\s+\.\/$/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
    expect(dependencyStages).toHaveLength(1);
    const installs = lineage(stageNamed(dependencyStages[0])!).flatMap((stage) =>
      stage.lines.filter((line) => line.includes('npm ci')),
    );
    expect(installs).toHaveLength(1);
    expect(installs[0]).toMatch(/npm ci --omit=dev$/);
    // npm ci sees the repository's .npmrc (engine-strict) and lockfile next to the manifests.
    const manifests = stageNamed('manifests')!.lines.join('\n');
    expect(manifests).toContain('cp package-lock.json .npmrc /app/');
    // The full install (dev dependencies, for the web build) lives in a stage the image only
    // takes the built web app from.
    expect(stages.some((stage) => stage.lines.some((line) => /npm ci$/.test(line)))).toBe(true);
    expect(lineage(finalStage).map((stage) => stage.name)).not.toContain('deps');
  });

  it('given SERVICE, then the command runs that deployable through tsx and each entry exists', () => {
    const text = finalStage.lines.join('\n');
    expect(finalStage.lines).toContain('CMD ["node", "--import", "tsx", "main.ts"]');
    expect(text).toContain('gateway) entry=gateway/src/main.ts ;;');
    expect(text).toContain('*) entry="services/$SERVICE/src/main.ts" ;;');
    expect(text).toContain('ln -s "$entry" main.ts');
    for (const name of deployables) {
      const entry = name === 'gateway' ? 'gateway/src/main.ts' : `services/${name}/src/main.ts`;
      expect(fs.existsSync(repoPath(entry)), entry).toBe(true);
    }
    const tsx = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    expect(tsx.dependencies.tsx, 'tsx must be a production dependency').toBeDefined();
  });

  it('given the health check, then node itself probes /health/live on $PORT, else the deployable default port', () => {
    const healthcheck = finalStage.lines.find((line) => line.startsWith('HEALTHCHECK'));
    expect(healthcheck).toMatch(/CMD \["node", "scripts\/container-healthcheck\.ts"\]$/);
    expect(read('scripts/container-healthcheck.ts')).toContain('/health/live');
    expect(defaultPorts).toEqual(servicePorts);
    expect(probePort({ PORT: '9000', SERVICE: 'pool' })).toBe(9000);
    expect(probePort({ SERVICE: 'pool' })).toBe(7003);
    expect(probePort({ PORT: '', SERVICE: 'gateway' })).toBe(8080);
  });

  it('given a process answering /health/live with 200, then the health check passes; with 503 or nothing listening, it fails', async () => {
    let status = 200;
    const paths: string[] = [];
    const server = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    /** Exit code of the health check as the image runs it: node itself, no tsx. */
    const probe = (env: Record<string, string>): Promise<number> =>
      run(process.execPath, [repoPath('scripts/container-healthcheck.ts')], {
        env: { PATH: process.env.PATH ?? '', ...env },
        timeout: 30_000,
      }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? -1,
      );
    try {
      expect(await probe({ PORT: String(port), SERVICE: 'pool' })).toBe(0);
      status = 503;
      expect(await probe({ PORT: String(port), SERVICE: 'pool' })).toBe(1);
      expect(paths).toEqual(['/health/live', '/health/live']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await probe({ PORT: String(port) })).toBe(1);
  }, 60_000);

  it('given .dockerignore, then it keeps node_modules and .git out but every path the image copies in', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '.git', '**/test']));
    const copied = finalStage.lines
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) {
      const top = source.replace(/\/$/, '');
      expect(ignored, source).not.toContain(top);
      expect(fs.existsSync(repoPath(top)), source).toBe(true);
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };

  it('given every deployable, then it is built from the Dockerfile for that deployable and not mounted from source', () => {
    for (const name of deployables) {
      const service = compose.services[name];
      expect(service, name).toBeDefined();
      expect(service!.image).toBe(imageOf(name));
      expect(service!.build).toEqual({ context: '.', args: { SERVICE: name } });
      expect(service!.command, name).toBeUndefined();
      expect(service!.volumes, name).toBeUndefined();
      expect(service!.environment?.PORT).toBe(servicePorts[name]);
      expect(service!.environment?.NODE_OPTIONS).toBe(nodeOptions);
      expect(service!.environment?.STREAMBET_MODE, name).toBe('cluster');
      expect(service!.read_only).toBe(true);
      expect(service!.cap_drop).toEqual(['ALL']);
    }
  });

  it('given any service, then none runs a stock Node image', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.image ?? '', name).not.toMatch(/^node:/);
    }
  });
});

describe('the k8s manifests', () => {
  const objects = k8sObjects();
  const deployments = objects.filter((object) => object.kind === 'Deployment');

  it('given every deployable, then exactly one Deployment runs its image', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([...deployables].sort());
    for (const deployment of deployments) {
      const containers = deployment.spec!.template!.spec.containers;
      expect(containers.map((c) => c.image)).toEqual([imageOf(deployment.metadata.name)]);
      expect(containers[0]!.command, deployment.metadata.name).toBeUndefined();
    }
  });

  it('given every Deployment, then its pod runs as non-root and cannot escalate', () => {
    for (const deployment of deployments) {
      const pod = deployment.spec!.template!.spec;
      expect(pod.securityContext?.runAsNonRoot, deployment.metadata.name).toBe(true);
      expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(pod.containers[0]!.securityContext?.allowPrivilegeEscalation).toBe(false);
    }
  });

  it('given every Deployment, then liveness and readiness probe /health/live and /health/ready on its port', () => {
    for (const deployment of deployments) {
      const name = deployment.metadata.name as ServiceName;
      const container = deployment.spec!.template!.spec.containers[0]!;
      // The gateway's public port does not serve /metrics: Prometheus scrapes its metrics port.
      const metrics =
        name === 'gateway' ? [{ name: 'metrics', containerPort: servicePorts.gateway + 1000 }] : [];
      expect(container.ports).toEqual([
        { name: 'rpc', containerPort: servicePorts[name] },
        ...metrics,
      ]);
      expect(deployment.spec!.template!.metadata?.annotations?.['prometheus.io/port']).toBe(
        String(servicePorts[name] + (name === 'gateway' ? 1000 : 0)),
      );
      expect(container.env).toContainEqual({ name: 'PORT', value: String(servicePorts[name]) });
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'rpc' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'rpc' });
    }
  });

  it('given the shared ConfigMap, then every Deployment runs in cluster mode (no embedded fallback) and none overrides it', () => {
    const common = objects.find(
      (object) => object.kind === 'ConfigMap' && object.metadata.name === 'streambet-common',
    );
    expect(common?.data?.STREAMBET_MODE).toBe('cluster');
    for (const deployment of deployments) {
      const container = deployment.spec!.template!.spec.containers[0]!;
      expect(container.envFrom).toContainEqual({ configMapRef: { name: 'streambet-common' } });
      expect(container.env?.some((e) => e.name === 'STREAMBET_MODE')).toBe(false);
    }
  });

  it('given the shared ConfigMap, then every Deployment gets NODE_OPTIONS with the larger young generation', () => {
    const common = objects.find(
      (object) => object.kind === 'ConfigMap' && object.metadata.name === 'streambet-common',
    );
    expect(common?.data?.NODE_OPTIONS).toBe(nodeOptions);
    for (const deployment of deployments) {
      const container = deployment.spec!.template!.spec.containers[0]!;
      expect(container.envFrom).toContainEqual({ configMapRef: { name: 'streambet-common' } });
      expect(container.env?.some((e) => e.name === 'NODE_OPTIONS')).toBe(false);
    }
  });

  /** The Secrets each Deployment reads (envFrom and secretKeyRef). */
  const secretsOf = (deployment: K8sObject): string[] => {
    const container = deployment.spec!.template!.spec.containers[0]!;
    return [
      ...(container.envFrom ?? []).flatMap((from) => from.secretRef?.name ?? []),
      ...(container.env ?? []).flatMap((e) => e.valueFrom?.secretKeyRef?.name ?? []),
    ];
  };
  /** The keys a Secret holds, as listed on it (the values are created out of band). */
  const keysOf = (secret: K8sObject): string[] =>
    (secret.metadata.annotations?.['streambet.io/keys'] ?? '').split(/\s+/).filter(Boolean);

  it("given the Secrets, then each service reads only its own, none holds another service's key, and the user-token key and KYC secret are only in user's", () => {
    const secrets = new Map(
      objects
        .filter((object) => object.kind === 'Secret')
        .map((secret) => [secret.metadata.name, secret]),
    );
    for (const deployment of deployments) {
      const name = deployment.metadata.name;
      // The gateway signs nothing and opens no database: it holds no secret at all.
      expect(secretsOf(deployment), name).toEqual(name === 'gateway' ? [] : [`${name}-secrets`]);
    }
    const userOnly = ['USER_TOKEN_PRIVATE_JWK', 'KYC_WEBHOOK_SECRET', 'DEVICE_ID_HASH_KEY'];
    for (const [secretName, secret] of secrets) {
      const readers = deployments.filter((d) => secretsOf(d).includes(secretName));
      expect(
        readers.map((d) => d.metadata.name),
        secretName,
      ).toHaveLength(1);
      const owner = readers[0]!.metadata.name;
      const keys = keysOf(secret);
      // One private service key, the owner's (SERVICE_TOKEN_PRIVATE_JWK is the only name a
      // service reads it under), no other service's key or database URL.
      expect(keys, secretName).toContain('SERVICE_TOKEN_PRIVATE_JWK');
      expect(keys, secretName).toContain('DATABASE_URL');
      expect(
        keys.filter((key) => /^(SERVICE_TOKEN_PRIVATE_JWK_|DATABASE_URL_)/.test(key)),
        secretName,
      ).toEqual([]);
      for (const key of userOnly) {
        expect(keys.includes(key), `${secretName} ${key}`).toBe(owner === 'user');
      }
    }
    expect(secrets.has('streambet-secrets')).toBe(false);
  });

  interface Peer {
    podSelector?: { matchLabels?: Record<string, string> };
    namespaceSelector?: { matchLabels?: Record<string, string> };
    ipBlock?: { cidr: string; except?: string[] };
  }
  interface PolicyPort {
    port: number;
    protocol?: string;
  }
  interface Policy {
    metadata: { name: string };
    spec: {
      podSelector: { matchLabels?: Record<string, string> };
      policyTypes: string[];
      ingress?: Array<{ from: Peer[]; ports: PolicyPort[] }>;
      egress?: Array<{ to: Peer[]; ports: PolicyPort[] }>;
    };
  }
  const policies = objects
    .filter((object) => object.kind === 'NetworkPolicy')
    .map((object) => object as unknown as Policy);
  const namespaceOf = (peer: Peer): string | undefined =>
    peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'];
  const ownPolicy = (name: string): Policy => {
    const own = policies.filter((policy) => policy.spec.podSelector.matchLabels?.app === name);
    expect(own, name).toHaveLength(1);
    return own[0]!;
  };
  const services = deployables.filter((name) => name !== 'gateway');

  /**
   * Callers named in each service's access policies: `services('a', 'b')` in
   * services/<callee>/src/**\/policy.ts, read from the files (they are not exported).
   */
  const namedCallers = (): Map<ServiceName, Set<string>> => {
    const callers = new Map<ServiceName, Set<string>>();
    for (const callee of services) {
      const files = fs
        .readdirSync(repoPath(`services/${callee}/src`), { recursive: true })
        .map(String)
        .filter((file) => file === 'policy.ts' || file.endsWith('/policy.ts'));
      expect(files, callee).not.toEqual([]);
      const names = new Set<string>();
      for (const file of files) {
        for (const call of read(`services/${callee}/src/${file}`).matchAll(
          /\bservices\(([^)]*)\)/g,
        )) {
          for (const quoted of call[1]!.matchAll(/'([^']+)'/g)) names.add(quoted[1]!);
        }
      }
      callers.set(callee, names);
    }
    return callers;
  };

  /**
   * The services each deployable must reach: the gateway reaches every service (it forwards their
   * public APIs, and the socket.io path to realtime); a service reaches each service whose
   * allow-lists name it, and user for the user-token JWKS (USER_JWKS_URL, in every process).
   */
  const expectedCallees = (): Map<ServiceName, Set<ServiceName>> => {
    const callers = namedCallers();
    const callees = new Map<ServiceName, Set<ServiceName>>();
    for (const caller of deployables) {
      callees.set(
        caller,
        new Set(
          caller === 'gateway'
            ? services
            : services.filter(
                (callee) => callee === 'user' || (callers.get(callee)?.has(caller) ?? false),
              ),
        ),
      );
    }
    return callees;
  };

  it('given the access policies, then their named callers are read from the files and each is a real service', () => {
    const callers = namedCallers();
    for (const [callee, names] of callers) {
      for (const name of names) expect(services, `${callee} names ${name}`).toContain(name);
    }
    // The parse finds what the policies say (e.g. the ledger's SubmitTransfers callers).
    expect([...callers.get('user')!]).toEqual(
      expect.arrayContaining(['bet-engine', 'settlement', 'payment']),
    );
    expect([...callers.get('settlement')!]).toEqual(['pool']);
  });

  it('given the NetworkPolicies, then ingress and egress are denied by default and every pod may resolve names', () => {
    const everyPod = policies.filter((policy) => policy.spec.podSelector.matchLabels === undefined);
    expect(
      everyPod.map((policy) => ({
        types: policy.spec.policyTypes,
        ingress: policy.spec.ingress,
        egress: policy.spec.egress?.map((rule) => ({
          to: rule.to.map((peer) => [namespaceOf(peer), peer.podSelector?.matchLabels]),
          ports: rule.ports,
        })),
      })),
    ).toEqual([
      { types: ['Ingress'], ingress: undefined, egress: undefined },
      { types: ['Egress'], ingress: undefined, egress: undefined },
      {
        types: ['Egress'],
        ingress: undefined,
        egress: [
          {
            to: [['kube-system', { 'k8s-app': 'kube-dns' }]],
            ports: [
              { port: 53, protocol: 'UDP' },
              { port: 53, protocol: 'TCP' },
            ],
          },
        ],
      },
    ]);
    for (const deployment of deployments) {
      expect(ownPolicy(deployment.metadata.name).spec.policyTypes).toEqual(['Ingress', 'Egress']);
    }
  });

  it('given the NetworkPolicies, then each port admits Prometheus, the gateway and exactly the pods whose egress reaches it', () => {
    const callees = expectedCallees();
    for (const deployment of deployments) {
      const name = deployment.metadata.name as ServiceName;
      const rules = ownPolicy(name).spec.ingress ?? [];
      const metricsPort = servicePorts[name] + (name === 'gateway' ? 1000 : 0);
      expect(
        rules.some(
          (rule) =>
            rule.from.some((peer) => namespaceOf(peer) === 'monitoring') &&
            rule.ports.some((port) => port.port === metricsPort),
        ),
        name,
      ).toBe(true);
      // Only the gateway is reached from outside the namespace (the ingress controller), and
      // nothing else reaches any pod from another namespace but Prometheus.
      const outside = rules
        .flatMap((rule) => rule.from)
        .map(namespaceOf)
        .filter((ns): ns is string => ns !== undefined && ns !== 'monitoring');
      expect(outside, name).toEqual(name === 'gateway' ? ['ingress-nginx'] : []);
      if (name === 'gateway') continue;
      const admitted = rules
        .filter((rule) => rule.ports.some((port) => port.port === servicePorts[name]))
        .flatMap((rule) => rule.from)
        .flatMap((peer) => peer.podSelector?.matchLabels?.app ?? [])
        .sort();
      const reaching = deployables.filter((caller) => callees.get(caller)!.has(name)).sort();
      expect(admitted, `pods admitted to ${name}:${servicePorts[name]}`).toEqual(reaching);
    }
  });

  it("given the NetworkPolicies, then each deployable's egress is exactly the services its callees' allow-lists name it in, the JWKS, and its own infrastructure", () => {
    const callees = expectedCallees();
    const configOf = (name: ServiceName): string =>
      read(name === 'gateway' ? 'gateway/src/config.ts' : `services/${name}/src/config.ts`);
    for (const deployment of deployments) {
      const name = deployment.metadata.name as ServiceName;
      const egress = ownPolicy(name).spec.egress ?? [];
      for (const rule of egress)
        expect(rule.to, `${name}: one kind of peer per rule`).toHaveLength(1);
      const peersOf = (kind: keyof Peer) =>
        egress.filter((rule) => rule.to[0]![kind] !== undefined);

      // Services: one rule per callee, on the callee's own port.
      const reached = peersOf('podSelector')
        .map((rule) => ({
          app: rule.to[0]!.podSelector!.matchLabels!.app!,
          namespace: namespaceOf(rule.to[0]!),
          ports: rule.ports.map((port) => port.port),
        }))
        .sort((a, b) => a.app.localeCompare(b.app));
      expect(reached, `${name} reaches`).toEqual(
        [...callees.get(name)!]
          .sort()
          .map((callee) => ({ app: callee, namespace: undefined, ports: [servicePorts[callee]] })),
      );

      // Infrastructure (namespace streambet-infra, as the shared ConfigMap's URLs say): what the
      // deployable's config reads. Every service: its database, the cache and the bus; the gateway:
      // the cache (rate limits) only; ClickHouse only where CLICKHOUSE_URL is read.
      const config = configOf(name);
      const platform = config.includes('platformConfigSpec(');
      const expectedInfra = [
        ...(platform ? [5432] : []),
        ...(platform || config.includes('cacheConfigSpec') ? [6379] : []),
        ...(platform ? [9092] : []),
        ...(config.includes('CLICKHOUSE_URL') ? [8123] : []),
      ];
      const infra = peersOf('namespaceSelector');
      expect(
        infra.map((rule) => namespaceOf(rule.to[0]!)),
        name,
      ).toEqual(['streambet-infra']);
      expect(infra.flatMap((rule) => rule.ports.map((port) => port.port)).sort(), name).toEqual(
        expectedInfra.sort(),
      );
      if (platform) {
        // Its own database only: the Secret with its DATABASE_URL is its own (see above).
        expect(secretsOf(deployment), name).toEqual([`${name}-secrets`]);
      }

      // Outside the cluster: HTTPS to providers, for payment and integration only, never to a
      // private or link-local address (cloud metadata) or the cluster's own ranges.
      const outside = peersOf('ipBlock');
      if (name === 'payment' || name === 'integration') {
        expect(outside, name).toHaveLength(1);
        expect(outside[0]!.ports, name).toEqual([{ port: 443 }]);
        expect(outside[0]!.to[0]!.ipBlock, name).toEqual({
          cidr: '0.0.0.0/0',
          except: [
            '10.0.0.0/8',
            '172.16.0.0/12',
            '192.168.0.0/16',
            '169.254.0.0/16',
            '127.0.0.0/8',
          ],
        });
      } else {
        expect(outside, name).toEqual([]);
      }
      expect(reached.length + infra.length + outside.length, name).toBe(egress.length);
    }
    const common = objects.find((object) => object.metadata.name === 'streambet-common');
    for (const variable of ['KAFKA_BROKERS', 'REDIS_URL', 'CLICKHOUSE_URL']) {
      expect(common?.data?.[variable], variable).toMatch(/\.streambet-infra:\d+$/);
    }
  });
});
