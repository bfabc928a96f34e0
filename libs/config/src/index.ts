export {
  AppConfig,
  ClicksConfig,
  AuthConfig,
  CacheConfig,
  ConfigError,
  DatabaseConfig,
  LinksConfig,
  loadConfig,
  RedisConfig,
  ThrottleConfig,
} from './config';
export type { LoadConfigOptions, SnipConfig } from './config';
export { ConfigModule } from './config.module';
export { envSchema, PROFILES } from './config.schema';
export type { Profile } from './config.schema';
