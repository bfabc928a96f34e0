import { randomBytes } from 'node:crypto';
import Module from 'node:module';
import { ADMIN_DATABASE_URL, databaseUrl, query, TEMPLATE_DATABASE_ENV } from './database';

/** What the global setup reads of the integration project's (normalised) Jest configuration. */
interface ProjectConfig {
  /** [pattern, replacement] pairs, <rootDir> already filled in. */
  readonly moduleNameMapper: ReadonlyArray<readonly [string, string]>;
}

type ResolveFilename = (request: string, ...rest: unknown[]) => string;

/**
 * Lets `require` resolve modules as the tests do, through the project's moduleNameMapper
 * (`@app/<lib>` to libs/<lib>/src): Jest transforms a global setup file and what it requires,
 * but maps no module names for it. Returns the function that undoes it.
 */
function resolveAsTheTests(project: ProjectConfig): () => void {
  const loader = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = loader._resolveFilename;
  const rules = project.moduleNameMapper.map(([from, to]) => [new RegExp(from), to] as const);
  loader._resolveFilename = function (this: unknown, request, ...rest) {
    const rule = rules.find(([from]) => from.test(request));
    const mapped = rule ? request.replace(rule[0], rule[1]) : request;
    return original.call(this, mapped, ...rest);
  };
  return () => {
    loader._resolveFilename = original;
  };
}

/**
 * Global setup of the integration project: creates one database for the run and applies the
 * project's migrations to it, once, through the same TypeORM DataSource and runMigrations the
 * `migration:run` command uses. Suites clone it (createMigratedDatabase in ./database), so each
 * gets a fresh, current schema without migrating again. The teardown drops it and every clone.
 */
export default async function integrationSetup(
  _global: unknown,
  project: ProjectConfig,
): Promise<void> {
  const name = `snip_it_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await query(ADMIN_DATABASE_URL, `CREATE DATABASE "${name}"`);
  const restore = resolveAsTheTests(project);
  try {
    const { loadConfig } = await import('@app/config');
    const { buildDataSourceOptions, runMigrations } = await import('@app/database');
    const { DataSource } = await import('typeorm');
    const config = loadConfig({
      SNIP_PROFILE: 'test',
      DATABASE_URL: databaseUrl(name),
      SHORT_CODE_SECRET: 'integration-template-secret',
    });
    const dataSource = new DataSource(
      buildDataSourceOptions(config.database, [], { unboundedQueries: true }),
    );
    await dataSource.initialize();
    try {
      await runMigrations(dataSource);
    } finally {
      // No session may stay on a template while it is cloned.
      await dataSource.destroy();
    }
  } catch (error) {
    await query(ADMIN_DATABASE_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    throw error;
  } finally {
    restore();
  }
  process.env[TEMPLATE_DATABASE_ENV] = name;
}
