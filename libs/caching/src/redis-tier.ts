import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import type { Redis } from 'ioredis';
import { redisHealth, sendReleasing, type RedisHealth } from '@app/redis';
import type { EvictionBus, SharedEntry, SharedTier, WarmBus } from './two-tier-cache';

/**
 * SET unless the stored document has a higher version: a fill that read the database before an
 * update cannot overwrite what the update wrote.
 */
const SET_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, doc = pcall(cjson.decode, current)
  if ok and type(doc) == 'table' and tonumber(doc.v) and tonumber(doc.v) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
`;

type RedisWithCacheCommands = Redis & {
  cacheSetIfNewer(key: string, document: string, version: number, ttlMs: number): Promise<number>;
};

type PipelineWithCacheCommands = {
  cacheSetIfNewer(key: string, document: string, version: number, ttlMs: number): void;
  exec(): Promise<[Error | null, unknown][] | null>;
};

/** The hot set's key under a cache's prefix. */
const HOT_SET = '~hot';
/** Members per ZADD when the hot set is replaced. */
const HOT_CHUNK = 1000;

/** Most keys in one MGET. */
const MAX_BATCH = 256;

/**
 * L2 on the shared ioredis client: one key per entry, `<prefix>cache:<name>:<key>`.
 *
 * Reads made while the event loop handles one batch of I/O (every request that arrived together)
 * leave as one MGET when it is done, through DataLoader: one command, one reply and one timeout
 * instead of one each per key, which is most of what an L2 hit costs the api's core.
 */
export class RedisSharedTier implements SharedTier {
  private readonly redis: RedisWithCacheCommands;
  private readonly reads: DataLoader<string, string | null>;

  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
    private readonly health: RedisHealth | undefined = redisHealth(redis),
  ) {
    if (!('cacheSetIfNewer' in redis)) {
      redis.defineCommand('cacheSetIfNewer', { numberOfKeys: 1, lua: SET_IF_NEWER });
    }
    this.redis = redis as RedisWithCacheCommands;
    // sendReleasing: a batch's command and keys then die young (see there).
    this.reads = new DataLoader(
      (keys) =>
        this.send(() => sendReleasing(this.redis, 'mget', [...keys])) as Promise<(string | null)[]>,
      {
        cache: false,
        maxBatchSize: MAX_BATCH,
        // After the I/O callbacks of this loop turn, like ioredis' own auto-pipelining; DataLoader's
        // default (the next tick) would flush after every single request.
        batchScheduleFn: (send) => setImmediate(send),
      },
    );
  }

  /** Connected, and not known to be down (a frozen Redis keeps its connection but answers nothing). */
  get available(): boolean {
    return this.redis.status === 'ready' && (this.health?.up ?? true);
  }

  get(key: string): Promise<string | null> {
    return this.reads.load(this.keyPrefix + key);
  }

  /**
   * While Redis is known to be down the write is still sent but not awaited: a frozen Redis applies
   * it once it thaws (as it would have before), and a closed connection drops it at once.
   */
  async setIfNewer(key: string, document: string, version: number, ttlMs: number): Promise<void> {
    const write = () => this.redis.cacheSetIfNewer(this.keyPrefix + key, document, version, ttlMs);
    await sendOrLeave(this.health, write);
  }

  /** One pipeline of SET_IF_NEWER scripts (EVALSHA); how many were stored. Errors reject. */
  async setManyIfNewer(entries: readonly SharedEntry[]): Promise<number> {
    const pipeline = this.redis.pipeline() as unknown as PipelineWithCacheCommands;
    for (const { key, document, version, ttlMs } of entries) {
      pipeline.cacheSetIfNewer(this.keyPrefix + key, document, version, ttlMs);
    }
    const results = (await pipeline.exec()) ?? [];
    let written = 0;
    for (const [error, stored] of results) {
      if (error) throw error;
      if (stored === 1) written++;
    }
    return written;
  }

  /** The hot set is a sorted set `<prefix>~hot` (a code never holds `~`), rank as score. */
  async replaceHot(keys: readonly string[], ttlMs: number): Promise<void> {
    const hot = this.keyPrefix + HOT_SET;
    const members = keys.flatMap((key, rank) => [rank, key]);
    const multi = this.redis.multi().del(hot);
    for (let i = 0; i < members.length; i += 2 * HOT_CHUNK) {
      multi.zadd(hot, ...members.slice(i, i + 2 * HOT_CHUNK));
    }
    await multi.pexpire(hot, ttlMs).exec();
  }

  hotKeys(limit: number): Promise<string[]> {
    return this.redis.zrange(this.keyPrefix + HOT_SET, 0, limit - 1);
  }

  private send<T>(command: () => Promise<T>): Promise<T> {
    return this.health ? this.health.run(command) : command();
  }
}

/** `command` through `health`, awaited while Redis is up; sent and left to itself while it is down. */
async function sendOrLeave(
  health: RedisHealth | undefined,
  command: () => Promise<unknown>,
): Promise<void> {
  if (!health) {
    await command();
    return;
  }
  if (health.up) {
    await health.run(command);
    return;
  }
  command().catch(() => undefined);
}

/**
 * Cross-instance L1 eviction over Redis pub/sub. Subscribing needs a connection of its own; each
 * message is `<instance id> <key>` so an instance skips what it published itself.
 */
export class RedisEvictionBus implements EvictionBus {
  private readonly instanceId = randomUUID();

  constructor(
    private readonly publisher: Redis,
    private readonly channel: string,
    private readonly health: RedisHealth | undefined = redisHealth(publisher),
  ) {}

  /** Subscribes `subscriber` (a dedicated connection) and calls `evict` for other instances' keys. */
  async listen(subscriber: Redis, evict: (key: string) => void): Promise<void> {
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const space = message.indexOf(' ');
      if (space < 0 || message.slice(0, space) === this.instanceId) return;
      evict(message.slice(space + 1));
    });
    await subscriber.subscribe(this.channel);
  }

  /** Not awaited while Redis is known to be down (see RedisSharedTier.setIfNewer). */
  async publish(key: string): Promise<void> {
    await sendOrLeave(this.health, () =>
      this.publisher.publish(this.channel, `${this.instanceId} ${key}`),
    );
  }
}

/**
 * "Load these keys into your L1" over Redis pub/sub, on a channel of its own beside the eviction
 * channel: each message is `<instance id> <key> <key> ...` (keys never hold spaces), at most
 * WARM_MESSAGE_KEYS keys; an instance skips what it published itself.
 */
export class RedisWarmBus implements WarmBus {
  private readonly instanceId = randomUUID();

  constructor(
    private readonly publisher: Redis,
    private readonly channel: string,
  ) {}

  async listen(subscriber: Redis, load: (keys: string[]) => void): Promise<void> {
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const [from, ...keys] = message.split(' ');
      if (from === this.instanceId || keys.length === 0) return;
      load(keys);
    });
    await subscriber.subscribe(this.channel);
  }

  async publish(keys: readonly string[]): Promise<void> {
    await this.publisher.publish(this.channel, `${this.instanceId} ${keys.join(' ')}`);
  }
}
