import { loadConfig, type SnipConfig } from '@app/config';

/** The configuration namespaces the logs worker reads; nothing else is validated. */
const LOGS_NAMESPACES = [
  'app',
  'database',
  'redis',
  'clicks',
  'clickIngest',
  'clickhouse',
  'worker',
] as const;

export type LogsConfig = SnipConfig<(typeof LOGS_NAMESPACES)[number]>;

export const loadLogsConfig = (
  environment: Readonly<Record<string, string | undefined>>,
): LogsConfig => loadConfig(environment, { namespaces: LOGS_NAMESPACES });
