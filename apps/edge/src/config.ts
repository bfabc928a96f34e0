import { loadConfig, type SnipConfig } from '@app/config';

/**
 * The configuration namespaces the edge reads: its own, the process's, Redis and the link cache
 * (the same keys as the api's, so both read the same entries), the redirect's keys of `links`,
 * TRUSTED_PROXIES, and the click transport. Loading them without `api` adds the edge's rules:
 * REDIS_URL is required and CLICKS_TRANSPORT=inline is refused (libs/config).
 */
const EDGE_NAMESPACES = [
  'app',
  'edge',
  'links',
  'redis',
  'cache',
  'throttle',
  'clicks',
  'clickPublisher',
] as const;

export type EdgeAppConfig = SnipConfig<(typeof EDGE_NAMESPACES)[number]>;

export const loadEdgeConfig = (
  environment: Readonly<Record<string, string | undefined>>,
): EdgeAppConfig => loadConfig(environment, { namespaces: EDGE_NAMESPACES });
