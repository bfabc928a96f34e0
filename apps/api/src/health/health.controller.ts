import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import {
  HealthCheckService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';

const PING_TIMEOUT_MS = 1500;

/**
 * `/health/live` says the process runs (for restarts); `/health/ready` that every dependency
 * answers (for load balancers), 503 with the failing ones named otherwise.
 */
@ApiExcludeController()
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
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    try {
      return await this.health.check([
        () => this.db.pingCheck('database', { timeout: PING_TIMEOUT_MS }),
      ]);
    } catch (error) {
      // Terminus throws its report inside a 503; answer with the report itself.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.code(503).header('cache-control', 'no-store');
      return error.getResponse();
    }
  }
}
