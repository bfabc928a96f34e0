import { Redis } from 'ioredis';

/**
 * Where the tests find the shared Redis and RabbitMQ (`bash scripts/services.sh` starts them, with
 * PostgreSQL: see ADMIN_DATABASE_URL in ./database).
 */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * Deletes a test's Redis keys once it is done: every key under `prefix`, and `keys` besides (such
 * as a click stream named outside the prefix).
 */
export async function removeRedisKeys(prefix: string, ...keys: string[]): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const all = [...(await redis.keys(`${prefix}*`)), ...keys];
    if (all.length > 0) await redis.del(...all);
  } finally {
    redis.disconnect();
  }
}
