import { execFileSync } from 'node:child_process';
import { load } from 'js-yaml';
import { ConfigError, loadConfig } from '@app/config';
import { unknownSettings } from '../support/settings';
import { ROOT } from '../support/process';

/**
 * docker-compose.yml, alone and with docker-compose.clickhouse.yml on top, as Compose renders them
 * (scripts/validate-compose.sh --print; no Docker engine here): valid,
 * every snip service's settings are ones snip knows and that its configuration accepts, and the
 * ClickHouse override wires the sink, its migrations and the start order.
 */
jest.setTimeout(120_000);

interface ComposeService {
  command?: string[] | string;
  environment?: Record<string, string | number | null>;
  depends_on?: Record<string, { condition: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const SNIP_SERVICES = ['migrate', 'api', 'logs', 'edge'];
const ENV = { ...process.env, SHORT_CODE_SECRET: 'compose-test-placeholder-secret' };

/** The merged configuration of `files` as Compose renders it, once validated. */
function compose(files: string[]): ComposeFile {
  // Installs docker-compose from Debian when the Docker CLI has no compose plugin.
  const rendered = execFileSync('bash', ['scripts/validate-compose.sh', '--print', ...files], {
    cwd: ROOT,
    env: ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return load(rendered) as ComposeFile;
}

const envOf = (service: ComposeService): Record<string, string> =>
  Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value ?? '')]),
  );

const configErrors = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env, { cwd: ROOT });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [error.message];
    throw error;
  }
};

describe.each([
  { files: ['docker-compose.yml'], sink: undefined },
  { files: ['docker-compose.yml', 'docker-compose.clickhouse.yml'], sink: 'clickhouse' },
])('$files', ({ files, sink }) => {
  let rendered: ComposeFile;
  beforeAll(() => {
    rendered = compose(files);
  });

  it('gives every snip service only settings snip knows, and that its configuration accepts', () => {
    for (const name of SNIP_SERVICES) {
      const env = envOf(rendered.services[name]!);
      expect({ name, unknown: unknownSettings(Object.keys(env)) }).toEqual({ name, unknown: [] });
      expect({ name, errors: configErrors(env) }).toEqual({ name, errors: [] });
      expect(env.SNIP_PROFILE).toBe('production');
      expect(env.CLICKS_SINK).toBe(name === 'edge' ? undefined : sink);
    }
  });

  it('starts the apps after the migrations, and the migrations after their stores', () => {
    const { migrate, api, logs } = rendered.services;
    for (const app of [api!, logs!]) {
      expect(app.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    }
    expect(migrate!.depends_on?.postgres).toEqual({ condition: 'service_healthy' });
    const command = [migrate!.command ?? []].flat().join(' ');
    expect(command).toContain('dist/apps/api/src/cli.js migration:run');
    if (sink === 'clickhouse') {
      expect(Object.keys(rendered.services)).toContain('clickhouse');
      for (const service of [migrate!, api!, logs!]) {
        expect(service.depends_on?.clickhouse).toEqual({ condition: 'service_healthy' });
      }
      // PostgreSQL's migrations, then ClickHouse's, and only if the first succeeded.
      expect(command).toMatch(
        /migration:run && node dist\/apps\/api\/src\/cli\.js clickhouse:migrate$/,
      );
      const server = envOf(rendered.services.clickhouse!);
      const app = envOf(logs!);
      expect([app.CLICKHOUSE_USER, app.CLICKHOUSE_PASSWORD]).toEqual([
        server.CLICKHOUSE_USER,
        server.CLICKHOUSE_PASSWORD,
      ]);
      expect(new URL(app.CLICKHOUSE_URL!).hostname).toBe('clickhouse');
    } else {
      expect(Object.keys(rendered.services)).not.toContain('clickhouse');
    }
  });
});
