export {
  AppConfig,
  ConfigError,
  DatabaseConfig,
  LinksConfig,
  loadConfig,
  RedisConfig,
} from './config';
export type { LoadConfigOptions, SnipConfig } from './config';
export { ConfigModule } from './config.module';
export { PROFILES } from './config.schema';
export type { Profile } from './config.schema';
