import { DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { NAMESPACES, type Namespace } from './config.schema';
import type { SnipConfig } from './config';

/**
 * Provides each configuration namespace the app read as an injectable class token (`AppConfig`,
 * `LinksConfig`, `ClicksConfig`, ...). The configuration is built once, by the caller, and passed
 * in.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: Partial<SnipConfig>): DynamicModule {
    const providers: Provider[] = Object.entries(config).map(([name, value]) => ({
      provide: NAMESPACES[name as Namespace],
      useValue: value,
    }));
    return {
      module: ConfigModule,
      providers,
      exports: providers.map((provider) => (provider as { provide: unknown }).provide as never),
    };
  }
}
