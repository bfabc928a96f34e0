import { ServiceUnavailableException } from '@nestjs/common';
import type {
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorFunction,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';

/**
 * Runs readiness checks and answers with Terminus' report either way: 200 when every check is up
 * or degraded, 503 (not cacheable) naming what is down. Terminus throws the 503 report; it is the
 * response, not an error for the problem+json filter.
 */
export async function readiness(
  health: HealthCheckService,
  checks: HealthIndicatorFunction[],
  reply: FastifyReply,
): Promise<HealthCheckResult | string | object> {
  try {
    return await health.check(checks);
  } catch (error) {
    if (!(error instanceof ServiceUnavailableException)) throw error;
    void reply.code(503).header('cache-control', 'no-store');
    return error.getResponse();
  }
}
