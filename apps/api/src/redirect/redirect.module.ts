import { Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyInstance } from 'fastify';
import { AppConfig, LinksConfig, ThrottleConfig } from '@app/config';
import { DatabaseReachability } from '@app/database';
import { httpFrontOf } from '@app/http';
import { LinksModule, LinksService, VisitCaps } from '@app/links';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import { hit, RATE_LIMIT_STORAGE, ThrottlingModule } from '@app/throttling';
import { ClickRecorder } from '../clicks/click-recorder';
import { ClicksModule } from '../clicks/clicks.module';
import { RedirectHandler } from '@app/redirect';
import { redirectFront } from './redirect.front';
import { redirectRoute } from './redirect.route';

/**
 * `GET|HEAD /:code`: one RedirectHandler, written by two thin servers. The front answers ahead of
 * Fastify every request of the plain shape; Fastify's `/:code` route serves the rest.
 */
@Module({
  imports: [LinksModule, ClicksModule, ThrottlingModule],
  providers: [
    {
      provide: RedirectHandler,
      inject: [
        LinksService,
        VisitCaps,
        ClickRecorder,
        DatabaseReachability,
        LinksConfig,
        ThrottleConfig,
        RATE_LIMIT_STORAGE,
        ROOT_LOGGER,
      ],
      useFactory: (
        links: LinksService,
        caps: VisitCaps,
        clicks: ClickRecorder,
        reachability: DatabaseReachability,
        config: LinksConfig,
        throttle: ThrottleConfig,
        limits: ThrottlerStorage,
        logger: Logger,
      ) =>
        new RedirectHandler({
          resolve: (code, now) => links.resolve(code, now),
          reserve: (linkId, maxClicks) => caps.reserve(linkId, maxClicks),
          record: (link, visitor, now) => clicks.record(link, visitor, now),
          translate: (error) => reachability.translate(error),
          logger,
          forwardQuery: config.forwardQuery,
          permanentRedirectMaxAge: config.permanentRedirectMaxAge,
          limit: {
            perMinute: throttle.redirectPerMinute,
            exemptLoopback: throttle.exemptLoopback,
            hit: (tracker, limit, windowMs) => hit(limits, 'redirect', tracker, limit, windowMs),
          },
        }),
    },
  ],
})
export class RedirectModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly redirects: RedirectHandler,
    private readonly app: AppConfig,
  ) {}

  /**
   * Fastify prefers static routes to `/:code` whatever the order, so no fixed route is shadowed;
   * the front leaves every parameterless route's path to Fastify for the same reason.
   */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.get('/:code', redirectRoute(this.redirects));
    httpFrontOf(fastify).use(
      redirectFront(this.redirects, httpFrontOf(fastify), this.app.maxUrlLength),
    );
  }
}
