import { DynamicModule, Global, Module } from '@nestjs/common';
import {
  AppConfig,
  ClicksConfig,
  AuthConfig,
  CacheConfig,
  DatabaseConfig,
  LinksConfig,
  loadConfig,
  RedisConfig,
  ThrottleConfig,
  type SnipConfig,
} from './config';

/**
 * Provides each configuration namespace as an injectable class token (`AppConfig`,
 * `DatabaseConfig`, `LinksConfig`, `RedisConfig`). The configuration is built once, by the caller, and passed in.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: SnipConfig = loadConfig(process.env)): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: config.app },
        { provide: LinksConfig, useValue: config.links },
        { provide: DatabaseConfig, useValue: config.database },
        { provide: RedisConfig, useValue: config.redis },
        { provide: ClicksConfig, useValue: config.clicks },
        { provide: CacheConfig, useValue: config.cache },
        { provide: AuthConfig, useValue: config.auth },
        { provide: ThrottleConfig, useValue: config.throttle },
      ],
      exports: [
        AppConfig,
        LinksConfig,
        DatabaseConfig,
        RedisConfig,
        ClicksConfig,
        CacheConfig,
        AuthConfig,
        ThrottleConfig,
      ],
    };
  }
}
