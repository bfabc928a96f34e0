import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { closeRedis, ReleasingScript } from '@app/redis';
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

/** KEYS[1] the stream; ARGV: MAXLEN, the pattern, then one JSON payload per entry. */
const XADD_BATCH = new ReleasingScript(`
local maxlen, pattern = ARGV[1], ARGV[2]
for i = 3, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*',
    '${STREAM_FIELDS.pattern}', pattern, '${STREAM_FIELDS.data}', ARGV[i])
end
return #ARGV - 2
`);

/**
 * Nest client of the Redis Streams transport: `emit(pattern, data)` is one XADD, and
 * `dispatchBatch` writes many entries in one script call (what the click publisher uses).
 * Request-response is not offered: streams carry events.
 */
export class RedisStreamsClient extends ClientProxy implements ClickTransport {
  private redis: Redis | undefined;
  private readonly maxLen: string;

  constructor(private readonly options: RedisStreamsClientOptions) {
    super();
    this.maxLen = String(options.maxLen);
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

  /**
   * XADDs every item as one entry under `pattern`, all in one script call: one command and one
   * reply per batch instead of per event, which is what the api's core spends on clicks. Rejects
   * if any XADD failed; a retry may then repeat entries, which the consumer drops by event id.
   * The batch goes through sendReleasing (ReleasingScript), so that it dies young (see there).
   */
  async dispatchBatch(pattern: string, items: readonly unknown[]): Promise<void> {
    if (items.length === 0) return;
    const redis = await this.connect();
    const args = [this.maxLen, pattern];
    for (const item of items) args.push(JSON.stringify(item) ?? 'null');
    await XADD_BATCH.run(redis, [this.options.stream], args);
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
