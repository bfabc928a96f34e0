import { loadConfig, type SnipConfig } from '@app/config';

/** The configuration namespaces the api and its command line read; nothing else is validated. */
const API_NAMESPACES = [
  'app',
  'api',
  'links',
  'database',
  'redis',
  'cache',
  'auth',
  'throttle',
  'clicks',
  'clickPublisher',
  // The api stores clicks itself with the inline transport.
  'clickIngest',
  // Where clicks are stored, and where the stats' breakdowns are read (CLICKS_SINK).
  'clickhouse',
] as const;

export type ApiConfig = SnipConfig<(typeof API_NAMESPACES)[number]>;

export const loadApiConfig = (
  environment: Readonly<Record<string, string | undefined>>,
): ApiConfig => loadConfig(environment, { namespaces: API_NAMESPACES });
