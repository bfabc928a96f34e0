export {
  ApiServerConfig,
  AppConfig,
  AuthConfig,
  CacheConfig,
  ClickHouseConfig,
  ClickIngestConfig,
  ClickPublisherConfig,
  ClicksConfig,
  DatabaseConfig,
  LinksConfig,
  RedisConfig,
  ThrottleConfig,
} from './config.schema';
export { ConfigError, configKeys, loadConfig } from './config';
export type { SnipConfig } from './config';
export { ConfigModule } from './config.module';
export { withLocalCodeSecret } from './local-secret';
