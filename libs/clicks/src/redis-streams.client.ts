import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { closeRedis } from '@app/redis';
import { CLICK_PATTERN, type ClickEvent } from './click-event';
import type { ClickTransport } from './publisher';

export interface RedisStreamsClientOptions {
  /** Opens the connection the client writes on (its own; never a blocking reader's). */
  readonly connect: () => Redis;
  readonly stream: string;
  /** Approximate MAXLEN applied on every XADD (`MAXLEN ~ n`): Redis trims whole nodes, cheaply. */
  readonly maxLen: number;
}

/** Field names of a stream entry: the Nest pattern and the JSON payload. */
export const STREAM_FIELDS = { pattern: 'p', data: 'd' } as const;

/**
 * Nest client of the Redis Streams transport: `emit(pattern, data)` is one XADD, and
 * `dispatchBatch` writes many entries in one pipelined round trip (what the click publisher uses).
 * Request-response is not offered: streams carry events.
 */
export class RedisStreamsClient extends ClientProxy implements ClickTransport {
  private redis: Redis | undefined;

  constructor(private readonly options: RedisStreamsClientOptions) {
    super();
  }

  connect(): Promise<Redis> {
    this.redis ??= this.options.connect();
    return Promise.resolve(this.redis);
  }

  async close(): Promise<void> {
    const redis = this.redis;
    this.redis = undefined;
    await closeRedis(redis);
  }

  unwrap<T>(): T {
    if (!this.redis) throw new Error('RedisStreamsClient is not connected');
    return this.redis as T;
  }

  /** XADDs every item as one entry under `pattern`, pipelined; rejects if any XADD failed. */
  async dispatchBatch(pattern: string, items: readonly unknown[]): Promise<void> {
    if (items.length === 0) return;
    const redis = await this.connect();
    const pipeline = redis.pipeline();
    const maxLen = String(this.options.maxLen);
    for (const item of items) {
      pipeline.xadd(
        this.options.stream,
        'MAXLEN',
        '~',
        maxLen,
        '*',
        STREAM_FIELDS.pattern,
        pattern,
        STREAM_FIELDS.data,
        JSON.stringify(item),
      );
    }
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error !== null);
    if (!results || failed) throw failed?.[0] ?? new Error('XADD pipeline returned nothing');
  }

  deliver(events: readonly ClickEvent[]): Promise<void> {
    return this.dispatchBatch(CLICK_PATTERN, events);
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const pattern =
      typeof packet.pattern === 'string' ? packet.pattern : JSON.stringify(packet.pattern);
    await this.dispatchBatch(pattern, [packet.data]);
    return undefined as T;
  }

  protected publish(_packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({ err: new Error('Redis Streams carries events only: use emit()'), isDisposed: true });
    return () => undefined;
  }
}
