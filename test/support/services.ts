/**
 * Where the tests find the shared Redis and RabbitMQ (`bash scripts/services.sh` starts them, with
 * PostgreSQL: see ADMIN_DATABASE_URL in ./database).
 */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
