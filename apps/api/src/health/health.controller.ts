import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import {
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
  type HealthIndicatorFunction,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { readiness } from '@app/observability';
import { REDIS } from '@app/redis';

const PING_TIMEOUT_MS = 1500;

/**
 * `/health/live` says the process runs (for restarts); `/health/ready` that the api can serve (for
 * load balancers). The database is required: without it, 503. Redis, when configured, is reported
 * too, as `degraded` (still 200) when it does not answer: redirects then come from L1 and the
 * database and rate limits fail open, so taking every instance out of rotation would be worse.
 */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: Redis | null,
  ) {}

  @Get('live')
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    const checks: HealthIndicatorFunction[] = [
      () => this.db.pingCheck('database', { timeout: PING_TIMEOUT_MS }),
    ];
    const { redis } = this;
    if (redis) checks.push(() => this.redisCheck(redis));
    return readiness(this.health, checks, reply);
  }

  private async redisCheck(redis: Redis): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('redis');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        redis.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), PING_TIMEOUT_MS);
        }),
      ]);
      return session.up();
    } catch (error) {
      return session.degraded({ message: error instanceof Error ? error.message : 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
  }
}
