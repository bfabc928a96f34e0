export {
  AppConfig,
  AuthConfig,
  CacheConfig,
  ClickIngestConfig,
  ClickPublisherConfig,
  ClicksConfig,
  DatabaseConfig,
  LinksConfig,
  PROFILES,
  RedisConfig,
  ThrottleConfig,
  WorkerConfig,
} from './config.schema';
export type { Namespace, Profile } from './config.schema';
export { ConfigError, configKeys, loadConfig } from './config';
export type { ConfigKey, LoadConfigOptions, SnipConfig } from './config';
export { ConfigModule } from './config.module';
export { withLocalCodeSecret } from './local-secret';
