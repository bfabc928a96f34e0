import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ClickIngestService } from '@app/analytics';
import { brokerTransport, ClickRecording } from '@app/clicks';
import { AppConfig, ClickPublisherConfig, ClicksConfig, RedisConfig } from '@app/config';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import { InlineClickTransport } from './inline.transport';

/**
 * What the redirect calls for every click (ClickRecording of @app/clicks, which the edge shares),
 * over the configured transport, the inline pipeline included. Never waits, never throws.
 */
@Injectable()
export class ClickRecorder extends ClickRecording implements OnApplicationShutdown {
  constructor(
    config: ClicksConfig,
    publishing: ClickPublisherConfig,
    redis: RedisConfig,
    private readonly app: AppConfig,
    ingest: ClickIngestService,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    super(
      config.transport === 'inline'
        ? new InlineClickTransport(ingest, logger)
        : brokerTransport(config, redis, logger),
      publishing,
      logger,
    );
  }

  /** After the HTTP server has drained: send what is buffered, within the shutdown grace. */
  async onApplicationShutdown(): Promise<void> {
    await this.close(Math.max(1000, this.app.shutdownGraceMs - 1000));
  }
}
