import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@app/config';
import {
  buildDataSourceOptions,
  pendingMigrations,
  resolveDatabase,
  revertLastMigration,
  runMigrations,
} from '@app/database';
import { Link } from '@app/links';
import { createLogger } from '@app/observability';
import { DataSource } from 'typeorm';

const USAGE = `snip command line

  npm run migration:run                 apply pending migrations (the pre-deploy step)
  npm run migration:revert              revert the most recent migration
  npm run migration:show                list pending migrations; exit 3 if any
  npm run migration:generate -- Name    write a migration for entity changes to libs/database/src/migrations

Connects to DATABASE_URL (or the embedded database of the local profile; stop the api first).
`;

/** Entities of the whole schema, for migration:generate. */
const ENTITIES = [Link];

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig(process.env);
  const logger = createLogger({ service: 'cli', level: config.app.logLevel });
  const database = await resolveDatabase(config);
  const dataSource = new DataSource(buildDataSourceOptions(database.config.database, ENTITIES));
  await dataSource.initialize();
  try {
    switch (command) {
      case 'migration:run': {
        const applied = await runMigrations(dataSource);
        logger.info({ applied }, applied.length ? 'migrations applied' : 'schema already current');
        return 0;
      }
      case 'migration:revert':
        await revertLastMigration(dataSource);
        logger.info('reverted the most recent migration');
        return 0;
      case 'migration:show': {
        const pending = await pendingMigrations(dataSource);
        logger.info({ pending }, pending.length ? 'migrations pending' : 'schema current');
        return pending.length ? 3 : 0;
      }
      case 'migration:generate':
        return await generate(dataSource, args[0], logger.info.bind(logger));
      default:
        process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } finally {
    await dataSource.destroy();
    await database.close();
  }
}

async function generate(
  dataSource: DataSource,
  name: string | undefined,
  log: (message: string) => void,
): Promise<number> {
  if (!name || !/^[A-Z][A-Za-z0-9]*$/.test(name)) {
    process.stderr.write('migration:generate needs a PascalCase name, such as AddLinkTags\n');
    return 2;
  }
  const sql = await dataSource.driver.createSchemaBuilder().log();
  if (sql.upQueries.length === 0) {
    log('no entity changes: nothing to generate');
    return 0;
  }
  const timestamp = Date.now();
  const className = `${name}${timestamp}`;
  const quote = (query: string): string => JSON.stringify(query);
  const up = sql.upQueries.map((q) => `    await q.query(${quote(q.query)});`).join('\n');
  const down = [...sql.downQueries]
    .reverse()
    .map((q) => `    await q.query(${quote(q.query)});`)
    .join('\n');
  const file = join('libs/database/src/migrations', `${timestamp}-${name}.ts`);
  writeFileSync(
    file,
    `import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ${className} implements MigrationInterface {
  name = '${className}';

  async up(q: QueryRunner): Promise<void> {
${up}
  }

  async down(q: QueryRunner): Promise<void> {
${down}
  }
}
`,
  );
  log(`wrote ${file}; review it and add ${className} to libs/database/src/migrations.ts`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
