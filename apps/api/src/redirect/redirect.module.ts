import { Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { ThrottleConfig } from '@app/config';
import { LinksModule } from '@app/links';
import { httpFrontOf } from '@app/http';
import { ClicksModule } from '../clicks/clicks.module';
import { RedirectController } from './redirect.controller';
import { RedirectFront } from './redirect.front';
import { RedirectService } from './redirect.service';

@Module({
  imports: [LinksModule, ClicksModule],
  providers: [RedirectService, RedirectController, RedirectFront],
})
export class RedirectModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly controller: RedirectController,
    private readonly front: RedirectFront,
    private readonly throttle: ThrottleConfig,
  ) {}

  /**
   * Fastify prefers static routes to `/:code` whatever the order, so no fixed route is shadowed;
   * the front handler leaves every parameterless route's path to Fastify for the same reason.
   * With a per-IP redirect limit, every redirect takes the Fastify route, which applies it.
   */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.get('/:code', this.controller.route);
    if (this.throttle.redirectPerMinute === 0) this.front.attach(httpFrontOf(fastify));
  }
}
