import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { CacheConfig } from '@app/config';
import { withTimeout } from '@app/core';
import { CacheWarmer, parseSince, WARM_SINCE_DEFAULT } from '@app/links';
import { ROOT_LOGGER, type Logger } from '@app/observability';

/**
 * CACHE_WARM_ON_BOOT_TOP: before the api listens (so before it reports ready), its L1 takes the
 * links with the most clicks in the last 24 hours, from L2 where it holds them, else the database.
 * Bounded by CACHE_WARM_ON_BOOT_TIMEOUT_MS: past it the api starts with what it loaded. A failure
 * (database or Redis down) is logged and the api starts cold.
 */
@Injectable()
export class BootWarmUp implements OnApplicationBootstrap {
  constructor(
    private readonly config: CacheConfig,
    private readonly warmer: CacheWarmer,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const top = this.config.warmOnBootTop;
    if (top === 0) return;
    const started = performance.now();
    const timeoutMs = this.config.warmOnBootTimeoutMs;
    // The signal stops the work between batches; the time-out stops waiting for a slow query.
    const bound = AbortSignal.timeout(timeoutMs);
    try {
      const loaded = await withTimeout(
        this.warmer.warmOnBoot(top, parseSince(WARM_SINCE_DEFAULT)!, bound),
        timeoutMs,
      );
      const durationMs = Math.round(performance.now() - started);
      this.logger.info({ top, loaded, durationMs }, 'cache warmed on boot');
    } catch (error) {
      this.logger.warn(
        { err: error, top, timeoutMs },
        'boot cache warm-up cut short: starting with what it loaded',
      );
    }
  }
}
