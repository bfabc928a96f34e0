import { Controller, Get, Inject, Optional, Res } from '@nestjs/common';
import {
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { ClickHouseClicks } from '@app/analytics';
import { ClicksConfig } from '@app/config';
import { withTimeout } from '@app/core';
import { readiness } from '@app/http';
import { CLICK_CONSUMER, type ClickConsumer } from './click-consumer';

const PING_TIMEOUT_MS = 1500;

/**
 * `/health/live`: the process runs. `/health/ready`: the worker can do its job, so both the
 * database and the broker it consumes from (Redis Streams or RabbitMQ) must be up; either down is
 * 503, naming it; with CLICKS_SINK=clickhouse, ClickHouse as well. Nothing is lost meanwhile:
 * unacknowledged clicks wait in the broker.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly clicks: ClicksConfig,
    @Inject(CLICK_CONSUMER) private readonly consumer: ClickConsumer,
    @Optional()
    @Inject(ClickHouseClicks)
    private readonly clickhouse: ClickHouseClicks | null = null,
  ) {}

  @Get('live')
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    return readiness(
      this.health,
      [
        () => this.db.pingCheck('database', { timeout: PING_TIMEOUT_MS }),
        () => this.broker(),
        ...(this.clickhouse ? [() => this.clickHouse()] : []),
      ],
      reply,
    );
  }

  private broker(): HealthIndicatorResult {
    const session = this.indicators.check('broker');
    const transport = this.clicks.transport;
    return this.consumer.connected
      ? session.up({ transport })
      : session.down({ transport, message: 'not connected' });
  }

  private async clickHouse(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('clickhouse');
    const up = await withTimeout(this.clickhouse!.ping(), PING_TIMEOUT_MS).catch(() => false);
    return up ? session.up() : session.down({ message: 'not answering' });
  }
}
