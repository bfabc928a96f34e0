import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { uniqueName } from '../support/clicks';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  environmentOf,
  exportedNames,
  KUSTOMIZE_ROOT,
  metricNames,
  named,
  nth,
  ofKind,
  OVERLAYS,
  parseObjects,
  podTemplate,
  policyViolations,
  render,
  schemaFailures,
  settingsOf,
  type KubeObject,
} from '../support/kubernetes';
import { ROOT, runCli, spawnApi, spawnEdge, spawnLogs, type SpawnedApp } from '../support/process';
import { RABBITMQ_URL, REDIS_URL, removeRedisKeys } from '../support/services';
import { unknownSettings } from '../support/settings';

/**
 * deploy/kubernetes, validated offline (issue 14): every overlay renders with `kubectl kustomize`,
 * every object passes the Kubernetes API schemas and the KEDA and Prometheus Operator CRDs
 * (decision 53), the policy holds (probes, resources, non-root, PDBs, autoscalers on existing
 * Deployments, shutdown timing), the alerts pass `promtool check rules` and `promtool test rules`,
 * and every metric the alerts, the adapter rule and the dashboard read is one the built apps
 * really export (a live scrape of api, edge and logs; `npm run build` first).
 */
jest.setTimeout(180_000);

const BASE = join(KUSTOMIZE_ROOT, 'base');
/** Metrics from other exporters that the alerts and the dashboard read on purpose. */
const EXTERNAL_METRICS: Record<string, string> = {
  pg_replication_lag_seconds: 'postgres_exporter',
};
/** The Secret the production overlay expects to exist (docs/operations.md "Kubernetes"). */
const PRODUCTION_SECRET = 'snip-secrets';

beforeAll(() => {
  // The project's own installer (apt-get kubernetes-client, prometheus) when a tool is missing.
  execFileSync('bash', ['scripts/tools.sh', 'kubectl', 'promtool'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
});

const readBase = (file: string): KubeObject[] =>
  parseObjects(readFileSync(join(BASE, file), 'utf8'));

const rules = (): { alert?: string; expr: string }[] => {
  const spec = named(readBase('prometheus-rules.yaml'), 'PrometheusRule', 'snip').spec as {
    groups: { rules: { alert?: string; expr: string }[] }[];
  };
  return spec.groups.flatMap((group) => group.rules);
};

interface AdapterRule {
  seriesQuery: string;
  metricsQuery: string;
  name: { matches: string; as: string };
  resources: { overrides: Record<string, { resource: string }> };
}

const adapterRules = (): AdapterRule[] => {
  const config = named(readBase('prometheus-adapter.yaml'), 'ConfigMap', 'snip-prometheus-adapter');
  return (load(config.data?.['config.yaml'] ?? '') as { rules: AdapterRule[] }).rules;
};

interface Panel {
  title?: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

const dashboardExpressions = (): string[] => {
  const dashboard = JSON.parse(readFileSync(join(BASE, 'snip-dashboard.json'), 'utf8')) as {
    panels: Panel[];
    templating: { list: { definition?: string }[] };
  };
  const panels = (list: Panel[]): Panel[] => list.flatMap((p) => [p, ...panels(p.panels ?? [])]);
  return [
    ...panels(dashboard.panels).flatMap((panel) => (panel.targets ?? []).map((t) => t.expr)),
    // Grafana's label_values(metric, label): the metric alone is PromQL.
    ...dashboard.templating.list.flatMap(
      (variable) => /^label_values\(([^,]+),/.exec(variable.definition ?? '')?.[1] ?? [],
    ),
  ];
};

describe.each(OVERLAYS)('the %s overlay', (overlay) => {
  let objects: KubeObject[];
  const external = overlay === 'production' ? [PRODUCTION_SECRET] : [];

  beforeAll(() => {
    objects = render(overlay);
  });

  it('renders the three apps, their scaling, the migration Job, the Ingress and the monitoring objects', () => {
    const names = (kind: string) =>
      ofKind(objects, kind)
        .map((object) => object.metadata.name)
        .sort();
    expect(names('Deployment')).toEqual(['snip-api', 'snip-edge', 'snip-logs']);
    expect(names('Service')).toEqual(['snip-api', 'snip-edge', 'snip-logs']);
    expect(names('PodDisruptionBudget')).toEqual(['snip-api', 'snip-edge', 'snip-logs']);
    expect(names('HorizontalPodAutoscaler')).toEqual(['snip-api', 'snip-edge']);
    expect(names('ScaledObject')).toEqual(['snip-logs']);
    expect(names('Job')).toEqual(['snip-migrate']);
    expect(names('ServiceMonitor')).toEqual(['snip-api', 'snip-edge', 'snip-logs']);
    expect(names('PrometheusRule')).toEqual(['snip']);
    expect(names('Ingress')).toEqual(['snip']);
    expect(names('NetworkPolicy').length).toBeGreaterThanOrEqual(4);
    expect(names('ConfigMap')).toEqual(
      expect.arrayContaining(['snip-grafana-dashboard', 'snip-prometheus-adapter']),
    );
    // Every object lands in the overlay's namespace.
    const namespace = overlay === 'dev' ? 'snip-dev' : 'snip';
    expect(objects.filter((object) => object.metadata.namespace !== namespace)).toEqual([]);
  });

  it('validates every object against the Kubernetes API schemas and the KEDA and Prometheus Operator CRDs', () => {
    expect(schemaFailures(objects)).toEqual([]);
  });

  it('holds the policy: probes, requests and limits, non-root, PDBs, autoscalers on real Deployments', () => {
    expect(policyViolations(objects, external)).toEqual([]);
  });

  it('runs the api, edge and logs entry points of the one image, on their ports', () => {
    const entries = ofKind(objects, 'Deployment').map((deployment) => {
      const container = nth(podTemplate(deployment).spec.containers);
      const settings = settingsOf(objects, container);
      return [
        container.image,
        container.command?.join(' '),
        nth(container.ports).containerPort,
        settings,
      ];
    });
    const images = new Set(entries.map(([image]) => image));
    expect(images.size).toBe(1);
    expect(entries.map(([, command, port]) => [command, port])).toEqual([
      ['node dist/apps/api/src/main.js', 3000],
      ['node dist/apps/edge/src/main.js', 3002],
      ['node dist/apps/logs/src/main.js', 3001],
    ]);
    const [, , , settings] = entries[0] as [unknown, unknown, unknown, Record<string, string>];
    expect(settings).toMatchObject({
      SNIP_PROFILE: 'production',
      PORT: '3000',
      LOGS_PORT: '3001',
      EDGE_PORT: '3002',
    });
    const job = nth(podTemplate(named(objects, 'Job', 'snip-migrate')).spec.containers);
    expect([job.image, job.command?.join(' ')]).toEqual([
      nth(entries)[0],
      'node dist/apps/api/src/cli.js migration:run',
    ]);
  });

  it('applies the settings and the migration Job on their own first, complete (deploy.sh phase 1)', () => {
    const phase = objects.filter(
      (object) => object.metadata.labels?.['snip/pre-deploy'] === 'true',
    );
    expect(phase.map((object) => object.kind).sort()).toEqual(
      overlay === 'dev' ? ['ConfigMap', 'Job', 'Secret'] : ['ConfigMap', 'Job'],
    );
    // What the Job references is in that first phase (or is the external Secret).
    const job = phase.filter((object) => object.kind === 'Job');
    expect(policyViolations(phase, external).filter((v) => v.includes('not rendered'))).toEqual([]);
    expect(job).toHaveLength(1);
  });

  it('points the KEDA triggers at the stream, consumer group and queue the workers use', () => {
    const scaled = named(objects, 'ScaledObject', 'snip-logs').spec as {
      triggers: { type: string; metadata: Record<string, string> }[];
    };
    const container = nth(podTemplate(named(objects, 'Deployment', 'snip-logs')).spec.containers);
    const settings = settingsOf(objects, container);
    const trigger = (type: string) => scaled.triggers.find((t) => t.type === type)?.metadata;
    expect(trigger('redis-streams')).toMatchObject({
      stream: `${settings.REDIS_KEY_PREFIX ?? 'snip:'}${settings.CLICKS_STREAM ?? 'clicks'}`,
      consumerGroup: settings.CLICKS_CONSUMER_GROUP ?? 'logs',
    });
    expect(trigger('rabbitmq')).toMatchObject({ queueName: settings.CLICKS_QUEUE ?? 'clicks' });
    // The stream's backlog is the group's lag (entries not yet delivered). Pending entries would
    // not do: a worker reads at most two batches ahead, so they stay under 2 x CLICKS_BATCH_SIZE
    // however long the backlog grows, and a threshold above that never scales out.
    expect(trigger('redis-streams')?.pendingEntriesCount).toBeUndefined();
    expect(trigger('redis-streams')?.lagCount).toMatch(/^[1-9]\d*$/);
    // KEDA reads the Redis the workers read (where the overlay's Secret says which that is).
    if (overlay === 'dev') {
      const redis = new URL(environmentOf(objects, container).REDIS_URL!);
      expect(trigger('redis-streams')?.address).toBe(`${redis.hostname}:${redis.port || 6379}`);
    }
  });

  it('scales the api and the edge on a requests-per-second metric the adapter rule provides', () => {
    const provided = adapterRules().map((rule) => rule.name.as);
    for (const hpa of ofKind(objects, 'HorizontalPodAutoscaler')) {
      const metrics = (
        hpa.spec as { metrics: { type: string; pods?: { metric: { name: string } } }[] }
      ).metrics;
      expect(metrics.map((metric) => metric.type).sort()).toEqual(['Pods', 'Resource']);
      for (const metric of metrics.filter((m) => m.type === 'Pods')) {
        expect(provided).toContain(metric.pods?.metric.name);
      }
    }
  });
});

describe('the checks themselves', () => {
  const dev = (): KubeObject[] => render('dev');

  it('report a container without probes or limits, running as root, and a Deployment without a PDB', () => {
    const objects = dev();
    const api = named(objects, 'Deployment', 'snip-api');
    const pod = podTemplate(api).spec as unknown as {
      containers: Record<string, unknown>[];
      securityContext?: unknown;
    };
    const container = nth(pod.containers);
    delete container.readinessProbe;
    delete (container.resources as { limits?: unknown }).limits;
    pod.securityContext = { runAsUser: 0 };
    (api.spec as { replicas?: number }).replicas = 3;
    (container.securityContext as Record<string, unknown>).readOnlyRootFilesystem = false;
    const withoutPdb = objects.filter(
      (o) => !(o.kind === 'PodDisruptionBudget' && o.metadata.name === 'snip-api'),
    );
    (
      named(withoutPdb, 'HorizontalPodAutoscaler', 'snip-edge').spec as {
        scaleTargetRef: { name: string };
      }
    ).scaleTargetRef.name = 'snip-gone';
    expect(policyViolations(withoutPdb)).toEqual(
      expect.arrayContaining([
        'Deployment/snip-api container api: no readinessProbe',
        'Deployment/snip-api container api: no limits.cpu',
        'Deployment/snip-api container api: not runAsNonRoot',
        'Deployment/snip-api container api: runs as uid 0',
        'Deployment/snip-api container api: root filesystem writable',
        'Deployment/snip-api: no PodDisruptionBudget',
        'Deployment/snip-api: sets replicas, which each apply would reset under its autoscaler',
        'HorizontalPodAutoscaler/snip-edge: targets no Deployment (snip-gone)',
      ]),
    );
  });

  it('report a grace period shorter than preStop + SHUTDOWN_GRACE_MS, and a Secret not rendered', () => {
    const objects = dev();
    (
      podTemplate(named(objects, 'Deployment', 'snip-edge')).spec as {
        terminationGracePeriodSeconds: number;
      }
    ).terminationGracePeriodSeconds = 15;
    const noSecret = objects.filter((object) => object.kind !== 'Secret');
    const violations = policyViolations(noSecret);
    expect(violations).toContain(
      'Deployment/snip-edge: terminationGracePeriodSeconds 15 does not cover preStop + SHUTDOWN_GRACE_MS (20 s)',
    );
    expect(
      violations.some((v) =>
        /^Deployment\/snip-api: Secret snip-secrets-\S+ not rendered$/.test(v),
      ),
    ).toBe(true);
  });

  it('reject objects the schemas refuse, and kinds they do not know', () => {
    const [deployment, scaled] = [
      named(dev(), 'Deployment', 'snip-api'),
      named(dev(), 'ScaledObject', 'snip-logs'),
    ];
    const pod = podTemplate(deployment).spec as unknown as {
      containers: { ports: { containerPort: unknown }[] }[];
    };
    nth(nth(pod.containers).ports).containerPort = 'http';
    const triggers = (scaled.spec as { triggers: { metadata: Record<string, unknown> }[] })
      .triggers;
    nth(triggers).metadata.pendingEntriesCount = 5;
    const failures = schemaFailures([
      deployment,
      scaled,
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
    ]);
    expect(failures.map((failure) => failure.object)).toEqual([
      'Deployment/snip-api',
      'ScaledObject/snip-logs',
      'Widget/w',
    ]);
    expect(nth(failures).errors.join()).toMatch(/containerPort must be integer/);
    expect(nth(failures, 1).errors.join()).toMatch(/pendingEntriesCount must be string/);
  });

  it('find the metric names of a PromQL expression, and the names of an exposition', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{route="/:code"}[5m]))) > 0.1 and on(service) up or vector(1)',
      ),
    ).toEqual(['http_request_duration_seconds_bucket', 'up']);
    expect(
      metricNames(
        'sum(rate(<<.Series>>{<<.LabelMatchers>>,route!~"/health.*"}[1m])) by (<<.GroupBy>>)',
      ),
    ).toEqual([]);
    expect(
      [...exportedNames('# TYPE a_seconds histogram\n# TYPE b_total counter\n')].sort(),
    ).toEqual(['a_seconds', 'a_seconds_bucket', 'a_seconds_count', 'a_seconds_sum', 'b_total']);
  });
});

describe('the alert rules', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'snip-rules-'));
    const spec = named(readBase('prometheus-rules.yaml'), 'PrometheusRule', 'snip').spec;
    writeFileSync(join(dir, 'prometheus-rules.yaml'), dump(spec));
    copyFileSync(join(BASE, 'prometheus-rules.test.yaml'), join(dir, 'prometheus-rules.test.yaml'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const promtool = (...args: string[]) => {
    const run = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  };

  it('pass promtool check rules', () => {
    const run = promtool('check', 'rules', 'prometheus-rules.yaml');
    expect(run.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(run.status).toBe(0);
  });

  it('pass their promtool unit tests, which fire every alert once and keep it quiet once', () => {
    const run = promtool('test', 'rules', 'prometheus-rules.test.yaml');
    expect(run.output).toContain('SUCCESS');
    expect(run.status).toBe(0);
    // Every alert has a case where it fires and one where it does not.
    const tests = load(readFileSync(join(BASE, 'prometheus-rules.test.yaml'), 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const { alert } of rules()) {
      const own = cases.filter((c) => c.alertname === alert);
      expect([
        alert,
        own.some((c) => c.exp_alerts.length > 0),
        own.some((c) => c.exp_alerts.length === 0),
      ]).toEqual([alert, true, true]);
    }
  });
});

describe('the metric names the alerts, the adapter rule and the dashboard read', () => {
  const prefix = `${uniqueName('snip-k8s')}:`;
  const stream = uniqueName('clicks');
  let db: TestDatabase;
  const apps: SpawnedApp[] = [];
  const exported = new Set<string>();

  beforeAll(async () => {
    db = await createTestDatabase('snip_k8s');
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      CLICKS_TRANSPORT: 'redis-streams',
      CLICKS_STREAM: stream,
      CLICKS_DEAD_LETTER_STREAM: `${stream}:dead`,
    };
    const api = await spawnApi({ env });
    apps.push(api);
    apps.push(await spawnLogs(env));
    apps.push(await spawnEdge({ ...env, EDGE_UPSTREAM_URL: api.url }));
    for (const app of apps) {
      for (const name of exportedNames(await (await fetch(`${app.url}/metrics`)).text()))
        exported.add(name);
    }
  }, 120_000);

  afterAll(async () => {
    for (const app of apps.reverse()) await app.stop();
    await removeRedisKeys(prefix, stream, `${stream}:dead`);
    await db?.drop();
  });

  const unknown = (expressions: string[]): string[] =>
    [...new Set(expressions.flatMap(metricNames))].filter(
      (name) => !exported.has(name) && !(name in EXTERNAL_METRICS),
    );

  it('scrapes the names of every app (the live exposition is the reference)', () => {
    for (const name of [
      'snip_redirects_total',
      'snip_clicks_consumer_lag',
      'snip_edge_forwards_total',
    ]) {
      expect(exported).toContain(name);
    }
    expect(exported).toContain('http_request_duration_seconds_bucket');
    expect(exported).not.toContain('snip_no_such_metric');
  });

  it('finds every metric of the PrometheusRule in the live scrape', () => {
    const expressions = rules().map((rule) => rule.expr);
    expect(expressions.flatMap(metricNames).length).toBeGreaterThan(10);
    expect(unknown(expressions)).toEqual([]);
    expect(unknown(['rate(snip_no_such_metric_total[5m])'])).toEqual(['snip_no_such_metric_total']);
  });

  it('finds every metric of the prometheus-adapter rule in the live scrape', () => {
    const expressions = adapterRules().flatMap((rule) => [rule.seriesQuery, rule.metricsQuery]);
    expect(expressions.flatMap(metricNames)).toContain('http_request_duration_seconds_count');
    expect(unknown(expressions)).toEqual([]);
    for (const rule of adapterRules()) {
      expect(
        Object.values(rule.resources.overrides)
          .map((o) => o.resource)
          .sort(),
      ).toEqual(['namespace', 'pod']);
      expect(new RegExp(rule.name.matches).test(nth(metricNames(rule.seriesQuery)))).toBe(true);
    }
  });

  it('finds every metric of the Grafana dashboard in the live scrape', () => {
    const expressions = dashboardExpressions();
    expect(expressions.length).toBeGreaterThan(10);
    expect(unknown(expressions)).toEqual([]);
  });
});

/**
 * The environment the dev overlay gives each container is enough for the built apps in the
 * production profile: the Job's migrates (which the production profile needs before the apps
 * start), then the api, the worker and the edge start with theirs and answer /health/ready. Only
 * the service addresses (the Secret's postgres, redis and rabbitmq hosts), the listen address and
 * ports, and the stream name are the test's.
 */
describe('the dev overlay environment, in the production profile', () => {
  const prefix = `${uniqueName('snip-k8s-env')}:`;
  const stream = uniqueName('clicks');
  let db: TestDatabase;
  let objects: KubeObject[];
  const apps: SpawnedApp[] = [];

  const environment = (kind: string, name: string): Record<string, string> => {
    const rendered = environmentOf(
      objects,
      nth(podTemplate(named(objects, kind, name)).spec.containers),
    );
    const local: Record<string, string> = {
      HOST: '127.0.0.1',
      PORT: '0',
      LOGS_PORT: '0',
      EDGE_PORT: '0',
      REDIS_KEY_PREFIX: prefix,
      CLICKS_STREAM: stream,
      CLICKS_DEAD_LETTER_STREAM: `${stream}:dead`,
    };
    const services: Record<string, string> = { DATABASE_URL: db.url, REDIS_URL, RABBITMQ_URL };
    for (const key of Object.keys(services)) {
      if (!(key in rendered)) delete services[key];
    }
    return { ...rendered, ...local, ...services };
  };

  beforeAll(async () => {
    objects = render('dev');
    db = await createTestDatabase('snip_k8s_env');
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.stop();
    await removeRedisKeys(prefix, stream, `${stream}:dead`);
    await db?.drop();
  });

  it('gives every container only settings snip knows (a typo would be ignored silently)', () => {
    const containers = [
      ['Job', 'snip-migrate'],
      ...ofKind(objects, 'Deployment').map((d) => ['Deployment', d.metadata.name]),
    ].map(([kind, name]) => ({
      name,
      unknown: unknownSettings(Object.keys(environment(kind!, name!))),
    }));
    expect(containers).toHaveLength(4);
    expect(containers).toEqual(containers.map(({ name }) => ({ name, unknown: [] })));
  });

  it('migrates with the environment of the Job, then starts the api, the worker and the edge with theirs', async () => {
    const job = environment('Job', 'snip-migrate');
    expect(job.SNIP_PROFILE).toBe('production');
    const migrated = await runCli(['migration:run'], job);
    // The output, should it fail, says why.
    expect(migrated.code === 0 ? 0 : migrated.output).toBe(0);

    const api = await spawnApi({ env: environment('Deployment', 'snip-api') });
    apps.push(api);
    const logsEnv = environment('Deployment', 'snip-logs');
    // The worker gets no SHORT_CODE_SECRET: it does not need it.
    expect(logsEnv.SHORT_CODE_SECRET).toBeUndefined();
    apps.push(await spawnLogs(logsEnv));
    const edgeEnv = environment('Deployment', 'snip-edge');
    expect(edgeEnv.DATABASE_URL).toBeUndefined();
    expect(edgeEnv.EDGE_UPSTREAM_URL).toBe('http://snip-api:3000');
    apps.push(await spawnEdge({ ...edgeEnv, EDGE_UPSTREAM_URL: api.url }));
    for (const app of apps) {
      expect([app.url, (await fetch(`${app.url}/health/ready`)).status]).toEqual([app.url, 200]);
    }
  });
});

/**
 * deploy.sh's order and its stops, with a kubectl that records each call and answers from files
 * (no cluster runs here): the migration Job alone first, the apps only once it is Complete; a
 * Failed Job, or one still running at SNIP_MIGRATE_TIMEOUT, stops the deploy with its logs and
 * applies nothing more.
 */
describe('deploy.sh, with a recording kubectl', () => {
  let bin: string;
  const calls = (): string[] =>
    readFileSync(join(bin, 'calls'), 'utf8').split('\n').filter(Boolean);

  beforeEach(() => {
    bin = mkdtempSync(join(tmpdir(), 'snip-kubectl-'));
    // Answers `get job` with the words in job-conditions (its Job's true conditions), fails `get
    // namespace` unless the file namespace exists, and records every call.
    writeFileSync(
      join(bin, 'kubectl'),
      [
        '#!/usr/bin/env bash',
        `dir=${JSON.stringify(bin)}`,
        'printf "%s\\n" "$*" >> "$dir/calls"',
        'case "$*" in',
        '  "get namespace "*) [[ -e "$dir/namespace" ]] ;;',
        '  *"get job snip-migrate"*) cat "$dir/job-conditions" 2>/dev/null || true ;;',
        '  *"logs job/snip-migrate"*) echo "migration log line" ;;',
        'esac',
      ].join('\n'),
      { mode: 0o755 },
    );
    writeFileSync(join(bin, 'calls'), '');
  });
  afterEach(() => rmSync(bin, { recursive: true, force: true }));

  const deploy = (env: Record<string, string> = {}) =>
    spawnSync('bash', [join(KUSTOMIZE_ROOT, 'deploy.sh'), 'production'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        SNIP_DEPLOY_POLL_SECONDS: '0.05',
        ...env,
      },
    });
  const overlayDir = join(KUSTOMIZE_ROOT, 'overlays', 'production');

  it('applies the migration Job alone, waits for it to complete, then applies and rolls the apps', () => {
    writeFileSync(join(bin, 'job-conditions'), 'Complete ');
    const run = deploy();
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const made = calls();
    expect(made.slice(0, 3)).toEqual([
      'get namespace snip',
      'create namespace snip',
      '-n snip delete job snip-migrate --ignore-not-found --wait=true',
    ]);
    expect(made[3]).toBe(`apply -k ${overlayDir} -l snip/pre-deploy=true`);
    expect(made[4]).toMatch(/^-n snip get job snip-migrate -o jsonpath=/);
    expect(made.slice(5)).toEqual([
      `apply -k ${overlayDir}`,
      '-n snip rollout status deployment/snip-api --timeout=10m',
      '-n snip rollout status deployment/snip-edge --timeout=10m',
      '-n snip rollout status deployment/snip-logs --timeout=10m',
    ]);
  });

  it('stops at once on a Failed migration Job, prints its logs and applies nothing more', () => {
    writeFileSync(join(bin, 'namespace'), '');
    writeFileSync(join(bin, 'job-conditions'), 'Failed ');
    const run = deploy({ SNIP_MIGRATE_TIMEOUT: '600s' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('deploy: the migration failed; the running version keeps serving');
    expect(run.stderr).toContain('migration log line');
    const made = calls();
    expect(made.filter((call) => call.includes('get job snip-migrate'))).toHaveLength(1);
    expect(made.filter((call) => call.startsWith('apply'))).toEqual([
      `apply -k ${overlayDir} -l snip/pre-deploy=true`,
    ]);
    expect(made.some((call) => call.includes('rollout'))).toBe(false);
    expect(made).not.toContain('create namespace snip');
  });

  it('stops when the Job is still running at SNIP_MIGRATE_TIMEOUT, and applies nothing more', () => {
    writeFileSync(join(bin, 'namespace'), '');
    const run = deploy({ SNIP_MIGRATE_TIMEOUT: '1' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('the migration did not complete within 1s');
    expect(calls().filter((call) => call.startsWith('apply'))).toHaveLength(1);
  });

  it('refuses a timeout that is not a number of seconds', () => {
    const run = deploy({ SNIP_MIGRATE_TIMEOUT: '10m' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("SNIP_MIGRATE_TIMEOUT must be seconds, not '10m'");
    expect(calls()).toEqual([]);
  });
});
