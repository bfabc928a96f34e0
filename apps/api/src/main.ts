import 'reflect-metadata';
import { withLocalCodeSecret } from '@app/config';
import { runService } from '@app/observability';
import { loadApiConfig } from './config';

runService({
  service: 'api',
  drain: 'draining in-flight requests',
  loadConfig: loadApiConfig,
  start: async (config, logger) => (await import('./api')).startApi(config, logger),
  describe: (config) => ({ database: config.database.mode }),
  listen: (config) => ({ port: config.api.port, host: config.app.host, key: 'PORT' }),
  processes: (config) => config.api.webConcurrency,
  // The secret file of DATA_DIR is written once, before the workers would race to write it.
  // Migrations at boot need nothing here: runMigrations holds an advisory lock.
  prepare: (config) => void withLocalCodeSecret(config),
});
