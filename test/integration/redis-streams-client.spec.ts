import { Redis } from 'ioredis';
import { RedisStreamsClient, STREAM_FIELDS } from '@app/clicks';
import { OwnRedis, uniqueName } from '../support/clicks';
import { REDIS_URL } from '../support/services';

/**
 * The Redis Streams client on a real Redis: what dispatchBatch writes comes back from XRANGE one
 * entry per item, in order, whatever the items hold, and a Redis without the script in its cache
 * (a fresh or restarted one, or after SCRIPT FLUSH) is no different.
 */
describe('RedisStreamsClient on Redis', () => {
  jest.setTimeout(30_000);

  function clientOn(url: string, stream: string): RedisStreamsClient {
    return new RedisStreamsClient({
      connect: () => new Redis(url, { maxRetriesPerRequest: 1, enableAutoPipelining: true }),
      stream,
      maxLen: 100_000,
    });
  }

  async function entries(
    redis: Redis,
    stream: string,
  ): Promise<{ pattern: string | undefined; data: unknown }[]> {
    const rows = await redis.xrange(stream, '-', '+');
    return rows.map(([, fields]) => {
      const map = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
      const data = map.get(STREAM_FIELDS.data);
      return {
        pattern: map.get(STREAM_FIELDS.pattern),
        data: data === undefined ? undefined : (JSON.parse(data) as unknown),
      };
    });
  }

  describe('on the shared Redis', () => {
    const stream = `snip-test:${uniqueName('client')}`;
    const reader = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const client = clientOn(REDIS_URL, stream);

    afterAll(async () => {
      await reader.del(stream);
      await client.close();
      await reader.quit();
    });

    it('adds one entry per item, in order, with any text in the values', async () => {
      const items = [
        { n: 1, ua: 'first\nsecond\r\nthird' },
        { n: 2, ua: 'Mozilla/5.0 (日本語; Ünïcödé) 🚀', lang: 'de\u2028' },
        { n: 3, empty: '' },
        ...Array.from({ length: 997 }, (_, i) => ({ n: i + 4, ref: `https://r.example/${i}` })),
      ];
      await client.dispatchBatch('click', items);
      const stored = await entries(reader, stream);
      expect(stored.map((entry) => entry.data)).toEqual(items);
      expect(new Set(stored.map((entry) => entry.pattern))).toEqual(new Set(['click']));
    });

    it('adds a single event through emit(), under its pattern', async () => {
      await reader.del(stream);
      await new Promise<void>((done, fail) =>
        client.emit('audit', { one: 1 }).subscribe({ complete: done, error: fail }),
      );
      expect(await entries(reader, stream)).toEqual([{ pattern: 'audit', data: { one: 1 } }]);
    });
  });

  describe('on a Redis without the script cached', () => {
    const own = new OwnRedis();
    const stream = uniqueName('client');
    let reader: Redis;
    let client: RedisStreamsClient;

    beforeAll(async () => {
      await own.start();
      reader = new Redis(own.url, { maxRetriesPerRequest: 1 });
      client = clientOn(own.url, stream);
    });

    afterAll(async () => {
      await client.close();
      await reader.quit();
      await own.destroy();
    });

    it('runs the script anyway, on a fresh Redis and again after SCRIPT FLUSH', async () => {
      await client.dispatchBatch('click', [{ n: 1 }, { n: 2 }]);
      await client.dispatchBatch('click', [{ n: 3 }]);
      await reader.script('FLUSH');
      await client.dispatchBatch('click', [{ n: 4 }, { n: 5 }]);
      const stored = await entries(reader, stream);
      expect(stored.map((entry) => entry.data)).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
    });

    it('rejects when an XADD fails, so that the publisher keeps the batch and retries', async () => {
      await reader.set(`${stream}:not-a-stream`, 'x');
      const wrong = clientOn(own.url, `${stream}:not-a-stream`);
      await expect(wrong.dispatchBatch('click', [{ n: 1 }])).rejects.toThrow(/WRONGTYPE/);
      await wrong.close();
    });
  });
});
