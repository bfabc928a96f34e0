import { Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { LinksModule } from '@app/links';
import { ClicksModule } from '../clicks/clicks.module';
import { RedirectController } from './redirect.controller';
import { RedirectService } from './redirect.service';

@Module({
  imports: [LinksModule, ClicksModule],
  providers: [RedirectService, RedirectController],
})
export class RedirectModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly controller: RedirectController,
  ) {}

  /** Fastify prefers static routes to `/:code` whatever the order, so no fixed route is shadowed. */
  onModuleInit(): void {
    this.adapterHost.httpAdapter
      .getInstance<FastifyInstance>()
      .get('/:code', this.controller.route);
  }
}
