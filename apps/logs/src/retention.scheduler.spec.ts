import type { ClickRetention, PruneResult } from '@app/analytics';
import type { ClickIngestConfig } from '@app/config';
import { createLogger } from '@app/observability';
import { RETENTION_START_DELAY_MS, RetentionScheduler } from './retention.scheduler';

const logger = createLogger({ service: 'test', level: 'silent' });
const INTERVAL = 60_000;

/** A scheduler over a stand-in ClickRetention whose runs end when the test says so. */
function scheduler(retentionDays: number) {
  const calls: { days: number; finish: () => void; fail: (error: Error) => void }[] = [];
  const retention = {
    prune: (days: number) =>
      new Promise<PruneResult>((resolve, reject) => {
        calls.push({
          days,
          finish: () => resolve({ status: 'off' }),
          fail: (error) => reject(error),
        });
      }),
  } as unknown as ClickRetention;
  const config = { retentionDays, retentionIntervalMs: INTERVAL } as ClickIngestConfig;
  return { calls, scheduler: new RetentionScheduler(retention, config, logger) };
}

describe('RetentionScheduler', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs after the start delay, then an interval after each run ends, never two at once', async () => {
    const { calls, scheduler: s } = scheduler(30);
    s.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(RETENTION_START_DELAY_MS - 1);
    expect(calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls.map((c) => c.days)).toEqual([30]);
    // A long run: no second one starts meanwhile.
    await jest.advanceTimersByTimeAsync(INTERVAL * 3);
    expect(calls).toHaveLength(1);
    calls[0]!.finish();
    await jest.advanceTimersByTimeAsync(INTERVAL - 1);
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    // A failed run is logged, and the schedule goes on.
    calls[1]!.fail(new Error('lock timeout'));
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(calls).toHaveLength(3);
    calls[2]!.finish();
    await s.beforeApplicationShutdown();
  });

  it('does nothing with retention off', async () => {
    const { calls, scheduler: s } = scheduler(0);
    s.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(RETENTION_START_DELAY_MS + INTERVAL * 2);
    expect(calls).toHaveLength(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('on shutdown waits for the run in progress, and schedules no other', async () => {
    const { calls, scheduler: s } = scheduler(7);
    s.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(RETENTION_START_DELAY_MS);
    let stopped = false;
    const stopping = s.beforeApplicationShutdown().then(() => {
      stopped = true;
    });
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    calls[0]!.finish();
    await stopping;
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(INTERVAL * 2);
    expect(calls).toHaveLength(1);
  });

  it('on shutdown before the first run, cancels it', async () => {
    const { calls, scheduler: s } = scheduler(7);
    s.onApplicationBootstrap();
    await s.beforeApplicationShutdown();
    await jest.advanceTimersByTimeAsync(RETENTION_START_DELAY_MS + INTERVAL);
    expect(calls).toHaveLength(0);
  });
});
