import Redis, { Command } from 'ioredis';

/**
 * What `sendReleasing` and `ReleasingScript` (redis.ts, decision 21) rely on inside ioredis, pinned
 * to an exact version in package.json (decision 30). An upgrade that changes any of it fails here,
 * not in production. `ReleasingScript` re-implements ioredis' script cache (EVALSHA, then EVAL on
 * NOSCRIPT); that it runs on a fresh Redis and after SCRIPT FLUSH is tested on a real one in
 * test/integration/redis-streams-client.spec.ts.
 */
describe('the ioredis internals sendReleasing relies on', () => {
  it('a Command applies the key prefix to its keys when it is built', () => {
    expect(new Command('mget', ['a', 'b'], { keyPrefix: 'p:' }).args).toEqual(['p:a', 'p:b']);
    // EVALSHA and EVAL: the keys, after the sha or script and their count, are prefixed; the other
    // arguments are not.
    for (const [name, first] of [
      ['evalsha', 'sha'],
      ['eval', 'return 1'],
    ]) {
      expect(new Command(name!, [first!, 1, 'k', 'x'], { keyPrefix: 'p:' }).args).toEqual([
        first,
        '1',
        'p:k',
        'x',
      ]);
    }
  });

  it("exposes the client's key prefix as options.keyPrefix, where sendReleasing reads it", () => {
    const redis = new Redis({ keyPrefix: 'p:', lazyConnect: true });
    expect(redis.options.keyPrefix).toBe('p:');
    redis.disconnect();
  });

  it('holds its arguments in a writable `args`, read again each time it is written out', () => {
    const command = new Command('mget', ['a', 'b']);
    expect(String(command.toWritable(undefined as never))).toBe(
      '*3\r\n$4\r\nmget\r\n$1\r\na\r\n$1\r\nb\r\n',
    );
    command.args = [];
    expect(String(command.toWritable(undefined as never))).toBe('*1\r\n$4\r\nmget\r\n');
  });

  it("sendCommand answers with the command's own promise, so settling it is the command settling", async () => {
    const redis = new Redis({ lazyConnect: true });
    const command = new Command('get', ['k']);
    const sent = redis.sendCommand(command);
    expect(sent).toBe(command.promise);
    redis.disconnect();
    await expect(sent).rejects.toThrow();
  });
});
