import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem, toProblem, type DomainError } from '@app/observability';
import { RedirectService } from './redirect.service';

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function errorPage(error: DomainError): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${error.status} ${escapeHtml(error.title)}</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.5rem}</style></head><body><h1>${escapeHtml(error.title)}</h1><p>${escapeHtml(error.detail)}</p></body></html>`;
}

/** `GET /:code` and `HEAD /:code` (Fastify answers HEAD from the GET route). */
@ApiExcludeController()
@Controller()
export class RedirectController {
  constructor(private readonly redirects: RedirectService) {}

  @Get(':code')
  async redirect(
    @Param('code') code: string,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    // Replies are sent, not awaited: awaiting a Fastify reply waits for the socket to drain.
    const queryAt = request.url.indexOf('?');
    const rawQuery = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
    const { headers } = request;
    const outcome = await this.redirects.handle(code, rawQuery, new Date(), {
      method: request.method,
      ip: request.ip,
      userAgent: headers['user-agent'],
      referrer: headers.referer,
      acceptLanguage: headers['accept-language'],
    });
    if (outcome.kind === 'redirect') {
      void reply
        .code(outcome.status)
        .header('location', outcome.location)
        .header('cache-control', outcome.cacheControl)
        .send();
      return;
    }
    const { error } = outcome;
    if (request.headers.accept?.includes('text/html')) {
      void reply
        .code(error.status)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(errorPage(error));
      return;
    }
    void sendProblem(request, reply.header('cache-control', 'no-store'), toProblem(error));
  }
}
