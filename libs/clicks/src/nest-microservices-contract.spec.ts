import { RmqContext, Server, ServerRMQ, type MessageHandler } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';

/**
 * What the click servers rely on inside @nestjs/microservices, pinned to an exact version in
 * package.json (decision 30): `ClickServerRMQ` overrides `getHandlerByPattern` to remember Nest's
 * look-up (handler-lookup.ts), `RedisStreamsServer` calls it and `transformToObservable` from its
 * own loop, and both count what Nest dead-letters for want of a handler. An upgrade that renames
 * or reroutes any of it fails here, not in a worker that silently stops using the override.
 */

/** A server of Nest's base class, as RedisStreamsServer extends it, with nothing to listen to. */
class BareServer extends Server {
  listen(callback: () => void): void {
    callback();
  }
  close(): void {}
  on(): never {
    throw new Error('unused');
  }
  unwrap(): never {
    throw new Error('unused');
  }
}

const eventHandler = (fn: (data: unknown, context: unknown) => unknown): MessageHandler =>
  Object.assign(jest.fn(fn), { isEventHandler: true }) as unknown as MessageHandler;

describe('the @nestjs/microservices internals the click servers rely on', () => {
  it('getHandlerByPattern(pattern) answers the handler added for a string pattern, null for none', () => {
    const server = new BareServer();
    const handler = eventHandler(() => undefined);
    server.addHandler('click', handler, true);
    expect(server.getHandlerByPattern('click')).toBe(handler);
    // null, not undefined: the memo (memoizeHandlerLookup) remembers a miss as null.
    expect(server.getHandlerByPattern('other')).toBeNull();
  });

  it('transformToObservable turns a handler result (a promise, a value, nothing) into one value', async () => {
    const server = new BareServer();
    expect(await lastValueFrom(server.transformToObservable(Promise.resolve(7)))).toBe(7);
    expect(
      await lastValueFrom(server.transformToObservable(undefined), { defaultValue: 'none' }),
    ).toBeUndefined();
  });

  describe('ServerRMQ', () => {
    /** A ServerRMQ whose look-up is overridden (as ClickServerRMQ does), on a fake channel. */
    class Overridden extends ServerRMQ {
      readonly lookups: string[] = [];
      override getHandlerByPattern(pattern: string): MessageHandler | null {
        this.lookups.push(pattern);
        return super.getHandlerByPattern(pattern);
      }
    }

    function setUp() {
      const server = new Overridden({ urls: ['amqp://unused'], queue: 'q', noAck: false });
      const channel = { nack: jest.fn(), ack: jest.fn() };
      // Nest sets the channel once connected; the message path reads it from the instance.
      Object.assign(server, { channel, logger: { warn: jest.fn(), error: jest.fn() } });
      const message = (body: unknown) => ({
        content: Buffer.from(JSON.stringify(body)),
        properties: {},
        fields: {},
      });
      return { server, channel, message };
    }

    it('routes an event message through this.getHandlerByPattern, so an override is consulted', async () => {
      const { server, channel, message } = setUp();
      let context: unknown;
      const handler = eventHandler((_data, ctx) => {
        context = ctx;
      });
      server.addHandler('click', handler, true);
      const delivered = message({ pattern: 'click', data: { n: 1 } });
      await server.handleMessage(delivered as never, channel);
      expect(server.lookups).toContain('click');
      expect(handler).toHaveBeenCalledWith({ n: 1 }, expect.any(RmqContext));
      expect((context as RmqContext).getMessage()).toBe(delivered);
      expect(channel.nack).not.toHaveBeenCalled();
    });

    it('with manual acks, nacks an event without a handler once, without requeue (to the dead letter)', async () => {
      const { server, channel, message } = setUp();
      const delivered = message({ pattern: 'unknown', data: {} });
      await server.handleMessage(delivered as never, channel);
      expect(server.lookups).toContain('unknown');
      expect(channel.nack).toHaveBeenCalledTimes(1);
      expect(channel.nack).toHaveBeenCalledWith(delivered, false, false);
    });

    it('hands a body that is no Nest packet to handleEvent as an event without a pattern, and nacks it', async () => {
      const { server, channel, message } = setUp();
      const handleEvent = jest.spyOn(server, 'handleEvent');
      await server.handleMessage(message('not a packet') as never, channel);
      expect(handleEvent).toHaveBeenCalledTimes(1);
      // ClickServerRMQ counts such a message as `undecodable` by its packet's missing pattern.
      expect(handleEvent.mock.calls[0]![1]).toMatchObject({ pattern: undefined });
      expect(channel.nack).toHaveBeenCalledTimes(1);
    });
  });
});
