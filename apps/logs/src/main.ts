import 'reflect-metadata';
import { runService } from '@app/observability';
import { loadLogsConfig } from './config';

runService({
  service: 'logs',
  drain: 'finishing the batch in hand',
  loadConfig: loadLogsConfig,
  start: async (config, logger) => (await import('./logs')).startLogs(config, logger),
  describe: (config) => ({ transport: config.clicks.transport }),
  listen: (config) => ({ port: config.worker.port, host: config.app.host, key: 'LOGS_PORT' }),
});
