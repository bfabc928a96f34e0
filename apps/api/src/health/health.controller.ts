import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags, type SchemaObject } from '@nestjs/swagger';
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
import { withTimeout } from '@app/core';
import { ReplicaReads } from '@app/database';
import { readiness } from '@app/http';
import { REDIS, redisHealth } from '@app/redis';

const PING_TIMEOUT_MS = 1500;

const HEALTH_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded', 'error', 'shutting_down'] },
    info: { type: 'object', additionalProperties: true },
    error: { type: 'object', additionalProperties: true },
    details: { type: 'object', additionalProperties: true },
  },
};

/**
 * `/health/live` says the process runs (for restarts); `/health/ready` that the api can serve (for
 * load balancers). Redis, when configured, is reported as `degraded` (still 200) when it does not
 * answer: redirects then come from L1 and the database and rate limits fail open, so taking every
 * instance out of rotation would be worse. The database is required unless Redis answers: with the
 * shared cache (L2) up, every instance still redirects every link it holds, so an unreachable
 * database is `degraded` (200); with neither, the instance can serve next to nothing: 503.
 * Read replicas, when configured, likewise (`replica`): their reads go to the primary meanwhile.
 */
@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: Redis | null,
    private readonly replicas: ReplicaReads,
  ) {}

  @Get('live')
  @ApiOperation({
    summary: 'Liveness',
    description: 'The process runs: for restarts. Needs no API key.',
    security: [],
  })
  @ApiResponse({ status: 200, description: 'Alive', schema: HEALTH_SCHEMA })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness',
    description:
      'Whether this instance can serve: for load balancers. Redis and read replicas, when ' +
      'configured, are reported as `degraded` without failing the check. An unreachable database ' +
      'is `degraded` (200) while Redis answers, since cached links keep redirecting from its ' +
      'shared cache (creations and uncached codes answer 503); without Redis (down or not ' +
      'configured) it is 503. 503 also while the process shuts down. Needs no API key.',
    security: [],
  })
  @ApiResponse({ status: 200, description: 'Ready', schema: HEALTH_SCHEMA })
  @ApiResponse({ status: 503, description: 'Not ready', schema: HEALTH_SCHEMA })
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    const { redis } = this;
    const cache = redis ? this.redisCheck(redis) : undefined;
    const checks: HealthIndicatorFunction[] = [() => this.databaseCheck(cache)];
    if (cache) checks.push(() => cache);
    if (this.replicas.configured) checks.push(() => this.replicaCheck());
    return readiness(this.health, checks, reply);
  }

  /** Down, unless the shared cache (`cache`, the Redis check) answers: then degraded. */
  private async databaseCheck(
    cache: Promise<HealthIndicatorResult> | undefined,
  ): Promise<HealthIndicatorResult> {
    const result = await this.db.pingCheck('database', { timeout: PING_TIMEOUT_MS });
    const { status, ...data } = result.database ?? {};
    if (status !== 'down' || (await cache)?.redis?.status !== 'up') return result;
    return this.indicators.check('database').degraded({
      ...data,
      reachable: false,
      serving: 'cached redirects',
    });
  }

  /** Read replicas: `degraded` (still 200) when one is down, since its reads go to the primary. */
  private async replicaCheck(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('replica');
    const states = await this.replicas.states(PING_TIMEOUT_MS);
    const down = states.filter((state) => !state.up).map((state) => state.name);
    const up = states.length - down.length;
    return down.length === 0 ? session.up({ up }) : session.degraded({ up, down });
  }

  private async redisCheck(redis: Redis): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('redis');
    // Known to be down (the breaker is open): say so at once instead of waiting out a PING.
    if (redisHealth(redis)?.up === false) return session.degraded({ message: 'known to be down' });
    try {
      await withTimeout(redis.ping(), PING_TIMEOUT_MS, 'timed out');
      return session.up();
    } catch (error) {
      return session.degraded({ message: error instanceof Error ? error.message : 'unreachable' });
    }
  }
}
