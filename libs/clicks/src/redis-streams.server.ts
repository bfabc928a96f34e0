import {
  BaseRpcContext,
  type CustomTransportStrategy,
  type MessageHandler,
  Server,
} from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';
import { sleep } from '@app/core';
import type { Logger } from '@app/observability';
import { closeRedis } from '@app/redis';
import { memoizeHandlerLookup } from './handler-lookup';
import { clickMetrics } from './metrics';
import { STREAM_FIELDS } from './redis-streams.client';

export interface RedisStreamsServerOptions {
  /** Opens a connection; called twice (a blocking reader and one for everything else). */
  readonly connect: (purpose: 'reader' | 'commands') => Redis;
  readonly stream: string;
  readonly group: string;
  /** This process's name in the group; unique per process. */
  readonly consumer: string;
  /** XREADGROUP COUNT: entries per read, and per acknowledgement. */
  readonly batchSize: number;
  /** XREADGROUP BLOCK: how long a read waits for new entries. */
  readonly blockMs: number;
  /** Batches of new entries handled at once (read ahead while the previous one commits). */
  readonly readAhead: number;
  /** Entries pending this long with another (presumably dead) consumer are claimed. */
  readonly claimIdleMs: number;
  /** An entry delivered more often than this goes to the dead-letter stream instead. */
  readonly maxDeliveries: number;
  readonly deadLetterStream: string;
  readonly deadLetterMaxLen: number;
  readonly logger: Logger;
}

type Settlement = { readonly kind: 'ack' } | { readonly kind: 'dead'; readonly reason: string };

/** The context of one stream entry; a handler settles it with `ack()` or `deadLetter()`. */
export class RedisStreamsContext extends BaseRpcContext<[string, string, number]> {
  private settlement: Settlement | undefined;

  getEntryId(): string {
    return this.args[0];
  }
  getStream(): string {
    return this.args[1];
  }
  /** How many times the entry has been delivered, this time included. */
  getDeliveries(): number {
    return this.args[2];
  }
  /** Acknowledge once the handler's work is durable: the server XACKs after the handler returns. */
  ack(): void {
    this.settlement = { kind: 'ack' };
  }
  /** Move the entry to the dead-letter stream (and acknowledge it there). */
  deadLetter(reason: string): void {
    this.settlement = { kind: 'dead', reason };
  }
  get settled(): Settlement | undefined {
    return this.settlement;
  }
}

type Entry = [id: string, fields: string[] | null];
type Outcome = { readonly id: string; readonly settlement: Settlement; readonly fields: string[] };

const TRANSPORT_REASONS = new Set(['max_deliveries', 'undecodable', 'unknown_pattern']);
/** A bounded metric label: the transport's own reasons, or `invalid` for a handler's refusal. */
const metricReason = (reason: string): string =>
  TRANSPORT_REASONS.has(reason) ? reason : 'invalid';

function fieldValue(fields: readonly string[] | null, name: string): string | undefined {
  if (!fields) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * A Nest microservice transport over a Redis stream and consumer group, so that several workers
 * share one stream and each entry is handled by one of them:
 *
 * - reads with XREADGROUP COUNT/BLOCK, hands every entry to its `@EventPattern` handler, and
 *   XACKs only the entries whose handler returned after calling `ack()` (after its batch
 *   committed); an entry whose handler failed stays pending and is read again;
 * - on start, and after a failure, re-reads its own pending entries first;
 * - claims entries another consumer left pending longer than `claimIdleMs` (XAUTOCLAIM), which is
 *   how a killed worker's batch gets finished;
 * - sends entries that cannot be decoded, have no handler, were refused by the handler, or were
 *   delivered more than `maxDeliveries` times to a dead-letter stream, in one MULTI with the XACK.
 */
export class RedisStreamsServer extends Server implements CustomTransportStrategy {
  private reader: Redis | undefined;
  private commands: Redis | undefined;
  private closing = false;
  private loop: Promise<void> | undefined;
  private metricsTimer: NodeJS.Timeout | undefined;
  private readonly logger_: Logger;
  private readonly handlerFor = memoizeHandlerLookup((pattern) =>
    this.getHandlerByPattern(pattern),
  );
  private readonly consumed = clickMetrics.consumed();
  private readonly deadLettered = clickMetrics.deadLettered();
  private readonly lag = clickMetrics.lag();
  private readonly pending = clickMetrics.pending();
  private readonly streamLength = clickMetrics.streamLength();

  constructor(private readonly options: RedisStreamsServerOptions) {
    super();
    this.logger_ = options.logger.child({ context: 'RedisStreamsServer' });
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      this.reader = this.options.connect('reader');
      this.commands = this.options.connect('commands');
      await this.ensureGroup();
    } catch (error) {
      callback(error);
      return;
    }
    this.loop = this.run();
    this.metricsTimer = setInterval(() => void this.sampleLag(), 5000);
    this.metricsTimer.unref();
    callback();
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    await this.loop;
    for (const redis of [this.reader, this.commands]) {
      await closeRedis(redis);
    }
  }

  /** Both connections are up (the logs worker's readiness reports it as the broker). */
  get connected(): boolean {
    return this.reader?.status === 'ready' && this.commands?.status === 'ready';
  }

  on(): void {
    throw new Error('RedisStreamsServer does not expose events');
  }

  unwrap<T>(): T {
    if (!this.commands) throw new Error('RedisStreamsServer is not listening');
    return this.commands as T;
  }

  private get redis(): Redis {
    if (!this.commands) throw new Error('RedisStreamsServer is not listening');
    return this.commands;
  }

  /** Creates the group at the start of the stream (entries added before it existed count too). */
  private async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.options.stream, this.options.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('BUSYGROUP')) throw error;
    }
  }

  private async run(): Promise<void> {
    let pendingCursor: string | undefined = '0';
    let nextClaimAt = 0;
    let failures = 0;
    // New entries are read ahead: while one batch commits, the next is read and dispatched, so
    // the database and this process work at the same time. History reads and claims wait for
    // the batches in flight, so that no entry is handled twice at once.
    const inFlight = new Set<Promise<void>>();
    let failed: unknown;
    const settleAll = async (): Promise<void> => {
      await Promise.all(inFlight);
      if (failed !== undefined) {
        const error = failed;
        failed = undefined;
        throw error instanceof Error ? error : new Error('a batch failed', { cause: error });
      }
    };
    while (!this.closing) {
      try {
        if (Date.now() >= nextClaimAt) {
          await settleAll();
          await this.claimStale();
          nextClaimAt = Date.now() + Math.max(100, Math.floor(this.options.claimIdleMs / 2));
        }
        if (pendingCursor !== undefined) {
          // Our own pending entries first: what a previous run of this consumer read but never
          // acknowledged (BLOCK is ignored for history reads).
          await settleAll();
          const entries = await this.read(pendingCursor);
          if (entries.length === 0) {
            pendingCursor = undefined;
          } else {
            pendingCursor = entries[entries.length - 1]![0];
            await this.process(entries, await this.deliveriesOf(entries));
          }
        } else {
          while (inFlight.size >= this.options.readAhead) await Promise.race(inFlight);
          if (failed !== undefined) await settleAll();
          const entries = await this.read('>');
          if (entries.length > 0) {
            const batch: Promise<void> = this.process(entries, undefined).then(
              () => {
                inFlight.delete(batch);
              },
              (error: unknown) => {
                inFlight.delete(batch);
                failed ??= error;
              },
            );
            inFlight.add(batch);
          }
        }
        failures = 0;
      } catch (error) {
        await Promise.all(inFlight);
        failed = undefined;
        if (this.closing) break;
        failures++;
        this.logger_.warn({ err: error, failures }, 'stream consumer failed; retrying');
        if (error instanceof Error && error.message.includes('NOGROUP')) {
          await this.ensureGroup().catch(() => undefined);
        }
        await sleep(Math.min(100 * 2 ** failures, 5000));
        pendingCursor = '0';
      }
    }
    await Promise.all(inFlight);
  }

  private async read(id: string): Promise<Entry[]> {
    const reader = this.reader;
    if (!reader) return [];
    const reply = (await reader.xreadgroup(
      'GROUP',
      this.options.group,
      this.options.consumer,
      'COUNT',
      this.options.batchSize,
      'BLOCK',
      this.options.blockMs,
      'STREAMS',
      this.options.stream,
      id,
    )) as [string, Entry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** Delivery counts of entries this consumer holds (after a history read or a claim). */
  private async deliveriesOf(entries: readonly Entry[]): Promise<Map<string, number>> {
    const first = entries[0]![0];
    const last = entries[entries.length - 1]![0];
    const rows = (await this.redis.xpending(
      this.options.stream,
      this.options.group,
      first,
      last,
      entries.length,
      this.options.consumer,
    )) as [string, string, number, number][];
    return new Map(rows.map(([id, , , deliveries]) => [id, Number(deliveries)]));
  }

  /** XAUTOCLAIM: takes over entries idle longer than claimIdleMs (their consumer died). */
  private async claimStale(): Promise<void> {
    let cursor = '0-0';
    for (let round = 0; round < 100 && !this.closing; round++) {
      const [next, entries] = (await this.redis.xautoclaim(
        this.options.stream,
        this.options.group,
        this.options.consumer,
        this.options.claimIdleMs,
        cursor,
        'COUNT',
        this.options.batchSize,
      )) as [string, Entry[], string[]?];
      const live = entries.filter((entry): entry is Entry => Array.isArray(entry));
      if (live.length > 0) {
        this.logger_.info(
          { claimed: live.length },
          'claimed entries left pending by another consumer',
        );
        await this.process(live, await this.deliveriesOf(live));
      }
      if (next === '0-0') break;
      cursor = next;
    }
    await this.forgetIdleConsumers();
  }

  /**
   * Removes consumers of the group that hold nothing and have been idle for a long time (workers
   * that stopped or were replaced), so that XINFO CONSUMERS stays readable. A consumer with
   * pending entries is never removed: XAUTOCLAIM takes those over first.
   */
  private async forgetIdleConsumers(): Promise<void> {
    const consumers = (await this.redis.xinfo(
      'CONSUMERS',
      this.options.stream,
      this.options.group,
    )) as unknown[][];
    const idleLimit = Math.max(this.options.claimIdleMs * 10, 60_000);
    for (const consumer of consumers) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < consumer.length; i += 2)
        info.set(String(consumer[i]), consumer[i + 1]);
      const name = String(info.get('name'));
      if (name === this.options.consumer) continue;
      if (Number(info.get('pending')) === 0 && Number(info.get('idle')) > idleLimit) {
        await this.redis.xgroup('DELCONSUMER', this.options.stream, this.options.group, name);
      }
    }
  }

  /** Hands each entry to its handler, awaits them all, then acknowledges and dead-letters. */
  private async process(
    entries: readonly Entry[],
    deliveries: Map<string, number> | undefined,
  ): Promise<void> {
    const outcomes: (Outcome | undefined)[] = new Array<Outcome | undefined>(entries.length);
    const running: Promise<void>[] = [];
    entries.forEach(([id, fields], index) => {
      if (!fields) {
        // Trimmed away while pending: nothing left to handle; acknowledging clears the PEL.
        outcomes[index] = { id, settlement: { kind: 'ack' }, fields: [] };
        return;
      }
      this.consumed.inc();
      const count = deliveries?.get(id) ?? 1;
      const dead = (reason: string): void => {
        outcomes[index] = { id, settlement: { kind: 'dead', reason }, fields };
      };
      if (count > this.options.maxDeliveries) return dead('max_deliveries');
      const pattern = fieldValue(fields, STREAM_FIELDS.pattern);
      const raw = fieldValue(fields, STREAM_FIELDS.data);
      if (pattern === undefined || raw === undefined) return dead('undecodable');
      let data: unknown;
      try {
        data = JSON.parse(raw);
      } catch {
        return dead('undecodable');
      }
      const handler = this.handlerFor(pattern);
      if (!handler) return dead('unknown_pattern');
      const context = new RedisStreamsContext([id, this.options.stream, count]);
      running.push(
        this.invoke(handler, data, context).then((ok) => {
          if (ok && context.settled) outcomes[index] = { id, settlement: context.settled, fields };
        }),
      );
    });
    await Promise.all(running);
    await this.settle(outcomes.filter((o): o is Outcome => o !== undefined));
  }

  private async invoke(
    handler: MessageHandler,
    data: unknown,
    context: RedisStreamsContext,
  ): Promise<boolean> {
    try {
      const result: unknown = await handler(data, context);
      await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
      return true;
    } catch (error) {
      this.logger_.error({ err: error, entry: context.getEntryId() }, 'click handler failed');
      return false;
    }
  }

  private async settle(outcomes: readonly Outcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const multi = this.redis.multi();
    const dlMaxLen = String(this.options.deadLetterMaxLen);
    for (const { id, settlement, fields } of outcomes) {
      if (settlement.kind !== 'dead') continue;
      this.deadLettered.inc({ reason: metricReason(settlement.reason) });
      multi.xadd(
        this.options.deadLetterStream,
        'MAXLEN',
        '~',
        dlMaxLen,
        '*',
        'source',
        id,
        'reason',
        settlement.reason,
        ...fields,
      );
    }
    multi.xack(this.options.stream, this.options.group, ...outcomes.map((o) => o.id));
    const results = await multi.exec();
    const failed = results?.find(([error]) => error !== null);
    if (!results || failed) throw failed?.[0] ?? new Error('XACK transaction was discarded');
  }

  private async sampleLag(): Promise<void> {
    try {
      const [groups, length] = await Promise.all([
        this.redis.xinfo('GROUPS', this.options.stream) as Promise<unknown[][]>,
        this.redis.xlen(this.options.stream),
      ]);
      this.streamLength.set(length);
      for (const group of groups) {
        const info = new Map<string, unknown>();
        for (let i = 0; i + 1 < group.length; i += 2) info.set(String(group[i]), group[i + 1]);
        if (info.get('name') !== this.options.group) continue;
        this.pending.set({ transport: 'redis-streams' }, Number(info.get('pending') ?? 0));
        const lag = info.get('lag');
        if (typeof lag === 'number') this.lag.set({ transport: 'redis-streams' }, lag);
      }
    } catch (error) {
      this.logger_.debug({ err: error }, 'could not sample stream lag');
    }
  }
}
