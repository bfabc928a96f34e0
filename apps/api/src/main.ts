import 'reflect-metadata';
import { runService } from '@app/observability';
import { loadApiConfig } from './config';

runService({
  service: 'api',
  drain: 'draining in-flight requests',
  loadConfig: loadApiConfig,
  start: async (config, logger) => (await import('./api')).startApi(config, logger),
  describe: (config) => ({ database: config.database.mode }),
  listen: (config) => ({ port: config.api.port, host: config.app.host, key: 'PORT' }),
});
