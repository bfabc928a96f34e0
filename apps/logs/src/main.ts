import 'reflect-metadata';
import { runService } from '@app/observability';

runService({
  service: 'logs',
  drain: 'finishing the batch in hand',
  start: async (config, logger) => (await import('./logs')).startLogs(config, logger),
  describe: (config) => ({ transport: config.clicks.transport }),
  listen: (config) => ({ port: config.clicks.logsPort, host: config.app.host, key: 'LOGS_PORT' }),
});
