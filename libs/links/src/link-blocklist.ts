import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { LinksConfig } from '@app/config';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import { DomainBlocklist } from './domain-blocklist';

/** The api's blocklist: URL_BLOCKED_DOMAINS plus URL_BLOCKLIST_FILE, polled while it runs. */
@Injectable()
export class LinkBlocklist extends DomainBlocklist implements OnModuleInit, OnApplicationShutdown {
  constructor(config: LinksConfig, @Inject(ROOT_LOGGER) logger: Logger) {
    super({
      domains: config.blockedDomains,
      file: config.blocklistFile,
      pollMs: config.blocklistPollMs,
      logger,
    });
  }

  async onModuleInit(): Promise<void> {
    await this.start();
  }

  onApplicationShutdown(): void {
    this.stop();
  }
}
