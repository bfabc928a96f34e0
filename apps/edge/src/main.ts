import 'reflect-metadata';
import { runService } from '@app/observability';
import { loadEdgeConfig } from './config';

runService({
  service: 'edge',
  drain: 'draining in-flight requests, then sending buffered clicks',
  loadConfig: loadEdgeConfig,
  start: async (config, logger) => (await import('./edge')).startEdge(config, logger),
  describe: (config) => ({ upstream: config.edge.upstreamUrl, transport: config.clicks.transport }),
  listen: (config) => ({ port: config.edge.port, host: config.app.host, key: 'EDGE_PORT' }),
});
