import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { ROOT } from './process';

/**
 * Rendering, schema validation and policy checks of the Kubernetes manifests in
 * deploy/kubernetes (test/e2e/kubernetes.e2e-spec.ts). The policy checks are pure: each returns
 * the violations it finds, so a test can also prove it catches a broken object.
 */

export const KUSTOMIZE_ROOT = join(ROOT, 'deploy/kubernetes');
export const OVERLAYS = ['dev', 'production'] as const;
export type Overlay = (typeof OVERLAYS)[number];

type Labels = Record<string, string>;

interface Metadata {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Labels;
  readonly annotations?: Labels;
}

interface HttpGet {
  readonly path?: string;
  readonly port?: string | number;
}

interface Probe {
  readonly httpGet?: HttpGet;
}

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    readonly secretKeyRef?: {
      readonly name: string;
      readonly key: string;
      readonly optional?: boolean;
    };
    readonly configMapKeyRef?: { readonly name: string; readonly key: string };
  };
}

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly command?: string[];
  readonly ports?: { readonly name?: string; readonly containerPort: number }[];
  readonly env?: EnvVar[];
  readonly envFrom?: {
    readonly configMapRef?: { readonly name: string };
    readonly secretRef?: { readonly name: string };
  }[];
  readonly resources?: {
    readonly requests?: Labels;
    readonly limits?: Labels;
  };
  readonly startupProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly lifecycle?: { readonly preStop?: { readonly exec?: { readonly command?: string[] } } };
  readonly securityContext?: SecurityContext;
}

interface SecurityContext {
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly readOnlyRootFilesystem?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly privileged?: boolean;
  readonly capabilities?: { readonly drop?: string[] };
}

export interface PodSpec {
  readonly containers: Container[];
  readonly securityContext?: SecurityContext;
  readonly terminationGracePeriodSeconds?: number;
  readonly topologySpreadConstraints?: unknown[];
}

interface PodTemplate {
  readonly metadata?: { readonly labels?: Labels };
  readonly spec: PodSpec;
}

/** One rendered object: the fields the checks read, nothing validated yet. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: Metadata;
  readonly spec?: Record<string, unknown>;
  readonly data?: Record<string, string>;
  readonly stringData?: Record<string, string>;
}

/** Renders `deploy/kubernetes/overlays/<overlay>` with `kubectl kustomize`. */
export function render(overlay: string, kubectl = process.env.KUBECTL ?? 'kubectl'): KubeObject[] {
  const yaml = execFileSync(kubectl, ['kustomize', join(KUSTOMIZE_ROOT, 'overlays', overlay)], {
    encoding: 'utf8',
    // kustomize 5 warns on stderr about the v2 fields the old one needs (bases, patches...).
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseObjects(yaml);
}

/** The objects of a multi-document YAML stream. */
export function parseObjects(yaml: string): KubeObject[] {
  return loadAll(yaml).filter((doc): doc is KubeObject => typeof doc === 'object' && doc !== null);
}

/** Schema failures of `objects`, from test/support/kubernetes-validate.mjs (decision 53). */
export function schemaFailures(
  objects: readonly KubeObject[],
): { object: string; errors: string[] }[] {
  const run = spawnSync(process.execPath, [join(ROOT, 'test/support/kubernetes-validate.mjs')], {
    cwd: ROOT,
    input: JSON.stringify(objects),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`kubernetes-validate failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { object: string; errors: string[] }[];
}

/** `list[index]`, or an error naming what is missing (for noUncheckedIndexedAccess). */
export function nth<T>(list: readonly T[] | undefined, index = 0): T {
  const item = list?.[index];
  if (item === undefined) throw new Error(`no item ${index} in ${JSON.stringify(list)}`);
  return item;
}

export const ofKind = (objects: readonly KubeObject[], kind: string): KubeObject[] =>
  objects.filter((object) => object.kind === kind);

export const named = (objects: readonly KubeObject[], kind: string, name: string): KubeObject => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind}/${name} in the render`);
  return found;
};

/** The pod template of a Deployment or a Job. */
export const podTemplate = (object: KubeObject): PodTemplate =>
  (object.spec as { template: PodTemplate }).template;

const matches = (selector: Labels | undefined, labels: Labels | undefined): boolean =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

/** The ConfigMap settings a pod gets through envFrom (the ConfigMaps of `objects`). */
export function settingsOf(objects: readonly KubeObject[], container: Container): Labels {
  const settings: Labels = {};
  for (const source of container.envFrom ?? []) {
    const map = objects.find(
      (object) => object.kind === 'ConfigMap' && object.metadata.name === source.configMapRef?.name,
    );
    Object.assign(settings, map?.data ?? {});
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) settings[variable.name] = variable.value;
  }
  return settings;
}

/**
 * The whole environment the rendered objects give `container`: its ConfigMaps, its values and its
 * Secret keys (decoded). Throws on a reference the render cannot resolve.
 */
export function environmentOf(objects: readonly KubeObject[], container: Container): Labels {
  const environment = settingsOf(objects, container);
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref === undefined) continue;
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name);
    const encoded = secret?.data?.[ref.key];
    if (encoded !== undefined) {
      environment[variable.name] = Buffer.from(encoded, 'base64').toString('utf8');
    } else if (ref.optional !== true) {
      throw new Error(`${container.name}: no key ${ref.key} in Secret ${ref.name}`);
    }
  }
  return environment;
}

const preStopSleepSeconds = (container: Container): number => {
  const command = container.lifecycle?.preStop?.exec?.command ?? [];
  return command[0] === 'sleep' ? Number(command[1]) : 0;
};

/** The checks every container of a Deployment or Job must pass. */
function containerViolations(
  owner: string,
  pod: PodSpec,
  container: Container,
  probes: boolean,
): string[] {
  const where = `${owner} container ${container.name}`;
  const violations: string[] = [];
  for (const kind of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory']) {
      if (container.resources?.[kind]?.[resource] === undefined) {
        violations.push(`${where}: no ${kind}.${resource}`);
      }
    }
  }
  const security = { ...pod.securityContext, ...container.securityContext };
  if (security.runAsNonRoot !== true) violations.push(`${where}: not runAsNonRoot`);
  if (security.runAsUser === 0) violations.push(`${where}: runs as uid 0`);
  if (security.readOnlyRootFilesystem !== true)
    violations.push(`${where}: root filesystem writable`);
  if (security.allowPrivilegeEscalation !== false)
    violations.push(`${where}: privilege escalation allowed`);
  if (security.privileged === true) violations.push(`${where}: privileged`);
  if (!(security.capabilities?.drop ?? []).includes('ALL'))
    violations.push(`${where}: capabilities not all dropped`);
  if (!probes) return violations;
  const port = container.ports?.[0];
  const expected: [keyof Container, string][] = [
    ['startupProbe', '/health/live'],
    ['livenessProbe', '/health/live'],
    ['readinessProbe', '/health/ready'],
  ];
  for (const [field, path] of expected) {
    const probe = container[field] as Probe | undefined;
    if (probe?.httpGet === undefined) {
      violations.push(`${where}: no ${field}`);
    } else if (probe.httpGet.path !== path) {
      violations.push(`${where}: ${field} asks ${String(probe.httpGet.path)}, not ${path}`);
    } else if (probe.httpGet.port !== port?.name && probe.httpGet.port !== port?.containerPort) {
      violations.push(
        `${where}: ${field} on port ${String(probe.httpGet.port)}, not the container's`,
      );
    }
  }
  return violations;
}

/**
 * The policy of issue 14 on a rendered overlay: every container with probes (Deployments),
 * requests and limits, non-root with a read-only root filesystem; every Deployment with a PDB,
 * topology spread and a grace period covering preStop + SHUTDOWN_GRACE_MS; every HPA and
 * ScaledObject on an existing Deployment (never both on one); every Service, Ingress backend and
 * ServiceMonitor on something that exists; every ConfigMap and Secret referenced rendered, except
 * the Secrets named in `externalSecrets` (created outside the repository).
 */
export function policyViolations(
  objects: readonly KubeObject[],
  externalSecrets: readonly string[] = [],
): string[] {
  const violations: string[] = [];
  const deployments = ofKind(objects, 'Deployment');
  const has = (kind: string, name: string): boolean =>
    objects.some((object) => object.kind === kind && object.metadata.name === name);

  for (const workload of [...deployments, ...ofKind(objects, 'Job')]) {
    const owner = `${workload.kind}/${workload.metadata.name}`;
    const pod = podTemplate(workload).spec;
    for (const container of pod.containers) {
      violations.push(
        ...containerViolations(owner, pod, container, workload.kind === 'Deployment'),
      );
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef && !has('ConfigMap', source.configMapRef.name)) {
          violations.push(`${owner}: ConfigMap ${source.configMapRef.name} not rendered`);
        }
      }
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref === undefined || externalSecrets.includes(ref.name)) continue;
        const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name);
        if (secret === undefined) {
          violations.push(`${owner}: Secret ${ref.name} not rendered`);
        } else if (
          !(ref.key in { ...secret.data, ...secret.stringData }) &&
          ref.optional !== true
        ) {
          violations.push(`${owner}: Secret ${ref.name} has no key ${ref.key}`);
        }
      }
    }
  }

  for (const deployment of deployments) {
    const owner = `Deployment/${deployment.metadata.name}`;
    const template = podTemplate(deployment);
    const labels = template.metadata?.labels;
    const pdb = ofKind(objects, 'PodDisruptionBudget').find((budget) =>
      matches(
        (budget.spec as { selector?: { matchLabels?: Labels } }).selector?.matchLabels,
        labels,
      ),
    );
    if (pdb === undefined) violations.push(`${owner}: no PodDisruptionBudget`);
    if ((template.spec.topologySpreadConstraints ?? []).length === 0) {
      violations.push(`${owner}: no topologySpreadConstraints`);
    }
    for (const container of template.spec.containers) {
      const graceMs = Number(settingsOf(objects, container).SHUTDOWN_GRACE_MS ?? '10000');
      const needed = preStopSleepSeconds(container) + graceMs / 1000;
      const given = template.spec.terminationGracePeriodSeconds ?? 30;
      if (given <= needed) {
        violations.push(
          `${owner}: terminationGracePeriodSeconds ${given} does not cover preStop + SHUTDOWN_GRACE_MS (${needed} s)`,
        );
      }
    }
    const scalers = [
      ...ofKind(objects, 'HorizontalPodAutoscaler').filter(
        (hpa) =>
          (hpa.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name ===
          deployment.metadata.name,
      ),
      ...ofKind(objects, 'ScaledObject').filter(
        (scaled) =>
          (scaled.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name ===
          deployment.metadata.name,
      ),
    ];
    if (scalers.length > 1) violations.push(`${owner}: scaled by ${scalers.length} autoscalers`);
    if (scalers.length > 0 && (deployment.spec as { replicas?: number }).replicas !== undefined) {
      violations.push(`${owner}: sets replicas, which each apply would reset under its autoscaler`);
    }
  }

  for (const scaler of [
    ...ofKind(objects, 'HorizontalPodAutoscaler'),
    ...ofKind(objects, 'ScaledObject'),
  ]) {
    const target = (scaler.spec as { scaleTargetRef: { kind?: string; name: string } })
      .scaleTargetRef;
    if ((target.kind ?? 'Deployment') !== 'Deployment' || !has('Deployment', target.name)) {
      violations.push(
        `${scaler.kind}/${scaler.metadata.name}: targets no Deployment (${target.name})`,
      );
    }
  }
  for (const auth of ofKind(objects, 'TriggerAuthentication')) {
    for (const ref of (auth.spec as { secretTargetRef?: { name: string; key: string }[] })
      .secretTargetRef ?? []) {
      if (!externalSecrets.includes(ref.name) && !has('Secret', ref.name)) {
        violations.push(
          `TriggerAuthentication/${auth.metadata.name}: Secret ${ref.name} not rendered`,
        );
      }
    }
  }

  const podLabels = deployments.map((deployment) => podTemplate(deployment).metadata?.labels);
  const services = ofKind(objects, 'Service');
  for (const service of services) {
    const selector = (service.spec as { selector?: Labels }).selector;
    if (!podLabels.some((labels) => matches(selector, labels))) {
      violations.push(`Service/${service.metadata.name}: selects no Deployment's pods`);
    }
  }
  const servicePort = (name: string, port: string | number | undefined): boolean =>
    services.some(
      (service) =>
        service.metadata.name === name &&
        (service.spec as { ports: { name?: string; port: number }[] }).ports.some(
          (p) => p.name === port || p.port === port,
        ),
    );
  for (const ingress of ofKind(objects, 'Ingress')) {
    type Backend = { service: { name: string; port: { name?: string; number?: number } } };
    const rules = (ingress.spec as { rules: { http: { paths: { backend: Backend }[] } }[] }).rules;
    for (const { backend } of rules.flatMap((rule) => rule.http.paths)) {
      if (
        !servicePort(backend.service.name, backend.service.port.name ?? backend.service.port.number)
      ) {
        violations.push(
          `Ingress/${ingress.metadata.name}: no Service ${backend.service.name} with that port`,
        );
      }
    }
  }
  for (const monitor of ofKind(objects, 'ServiceMonitor')) {
    const spec = monitor.spec as {
      selector: { matchLabels: Labels };
      endpoints: { port: string }[];
    };
    const service = services.find((s) => matches(spec.selector.matchLabels, s.metadata.labels));
    if (service === undefined) {
      violations.push(`ServiceMonitor/${monitor.metadata.name}: selects no Service`);
    } else if (
      !spec.endpoints.every((endpoint) => servicePort(service.metadata.name, endpoint.port))
    ) {
      violations.push(
        `ServiceMonitor/${monitor.metadata.name}: Service ${service.metadata.name} has no such port`,
      );
    }
  }
  return violations;
}

const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers that are not functions (followed by a
 * parenthesis), keywords, label names (in braces or in by/without lists) or template parts
 * (Grafana's `$__rate_interval`, prometheus-adapter's `<<.Series>>`).
 */
export function metricNames(expression: string): string[] {
  const bare = expression
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/<<[^>]*>>/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    const [token, call] = [match[0].replace(/\s*\($/, ''), match[1]];
    if (call === undefined && !PROMQL_WORDS.has(token.toLowerCase()) && !/^\d/.test(token)) {
      names.add(token);
    }
  }
  return [...names].sort();
}

/** Every sample name a Prometheus exposition can carry, from its `# TYPE` lines. */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [name, type] = [nth(match, 1), match[2]];
    names.add(name);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_count', '_sum']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_count', '_sum']) names.add(name + suffix);
  }
  return names;
}
