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
export type { SnipConfig } from './config';
export { ConfigModule } from './config.module';
export { envSchema } from './config.schema';
