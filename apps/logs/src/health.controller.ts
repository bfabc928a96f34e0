import { Controller, Get, Res } from '@nestjs/common';
import {
  HealthCheckService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { readiness } from '@app/observability';

const PING_TIMEOUT_MS = 1500;

/** `/health/live`: the process runs. `/health/ready`: the database answers. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
  ) {}

  @Get('live')
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    return readiness(
      this.health,
      [() => this.db.pingCheck('database', { timeout: PING_TIMEOUT_MS })],
      reply,
    );
  }
}
