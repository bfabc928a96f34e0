import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { ApiServerConfig } from '@app/config';
import { LinksService } from '@app/links';
import { ValidationFailedError } from '@app/core';
import { scopeOf, type Principal } from '../api-keys/api-key';
import { CurrentPrincipal } from '../api-keys/api-access';
import {
  CreateLinkDto,
  LinkPageResponse,
  LinkResponse,
  ListLinksQuery,
  toLinkResponse,
  UpdateLinkDto,
} from './links.dto';
import { CODE_PARAM, ApiBodyProblems, ApiCommonProblems, ApiProblem } from '../openapi';

const DEFAULT_PAGE_SIZE = 20;

@ApiTags('links')
@ApiSecurity('api-key')
@ApiCommonProblems()
@Controller('api/v1/links')
export class LinksController {
  constructor(
    private readonly links: LinksService,
    private readonly server: ApiServerConfig,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Create a link',
    description:
      'Shortens `url` under a generated code, or under `alias` when one is given. The target ' +
      'must pass the URL policy (absolute http(s), no credentials, not snip itself).',
  })
  @ApiCreatedResponse({ type: LinkResponse })
  @ApiBodyProblems('VALIDATION_FAILED, URL_NOT_ALLOWED, URL_BLOCKED, ALIAS_RESERVED')
  @ApiProblem(409, 'ALIAS_TAKEN: the alias exists (deleted links keep theirs)')
  async create(
    @Body() body: CreateLinkDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LinkResponse> {
    const link = await this.links.create({
      url: body.url,
      alias: body.alias,
      expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
      redirectType: body.redirectType,
      ownerKeyId: principal.keyId,
      maxClicks: body.maxClicks,
    });
    return toLinkResponse(link, this.server.publicBaseUrl);
  }

  @Get()
  @ApiOperation({
    summary: 'List links',
    description:
      'Newest first, or in `sort` order (`-clicks`: most clicked first), `limit` per page; pass ' +
      '`nextCursor` back as `cursor`, with the same `sort`, for the next page. A user key sees ' +
      'only the links it created.',
  })
  @ApiOkResponse({
    type: LinkPageResponse,
    description: 'In `sort` order, newest first by default',
  })
  @ApiProblem(400, 'VALIDATION_FAILED (limit, sort), INVALID_CURSOR, MALFORMED_URL')
  async list(
    @Query() query: ListLinksQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LinkPageResponse> {
    const page = await this.links.list(
      query.limit ?? DEFAULT_PAGE_SIZE,
      query.cursor,
      scopeOf(principal),
      query.sort,
    );
    return {
      items: page.items.map((link) => toLinkResponse(link, this.server.publicBaseUrl)),
      nextCursor: page.nextCursor,
    };
  }

  @Get(':code')
  @ApiOperation({ summary: 'Get a link' })
  @ApiOkResponse({ type: LinkResponse })
  @ApiProblem(400, 'MALFORMED_URL')
  @ApiProblem(404, 'LINK_NOT_FOUND')
  @ApiParam(CODE_PARAM)
  async get(
    @Param('code') code: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LinkResponse> {
    return toLinkResponse(
      await this.links.get(code, scopeOf(principal)),
      this.server.publicBaseUrl,
    );
  }

  @Patch(':code')
  @ApiOperation({
    summary: 'Change a link',
    description:
      'Sets any of `url`, `expiresAt` (null removes it), `redirectType`, `disabled` and ' +
      '`maxClicks` (null removes it); at least one. Caches on every instance are updated at once.',
  })
  @ApiOkResponse({ type: LinkResponse })
  @ApiBodyProblems(
    'VALIDATION_FAILED, URL_NOT_ALLOWED, URL_BLOCKED (also on enabling a blocked link), MALFORMED_URL',
  )
  @ApiProblem(404, 'LINK_NOT_FOUND')
  @ApiParam(CODE_PARAM)
  async update(
    @Param('code') code: string,
    @Body() body: UpdateLinkDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LinkResponse> {
    if (Object.keys(body).length === 0) {
      throw new ValidationFailedError([
        {
          field: 'body',
          message: 'set at least one of url, expiresAt, redirectType, disabled, maxClicks',
        },
      ]);
    }
    const link = await this.links.update(
      code,
      {
        url: body.url,
        expiresAt:
          body.expiresAt === undefined || body.expiresAt === null
            ? body.expiresAt
            : new Date(body.expiresAt),
        redirectType: body.redirectType,
        disabled: body.disabled,
        maxClicks: body.maxClicks,
      },
      scopeOf(principal),
    );
    return toLinkResponse(link, this.server.publicBaseUrl);
  }

  @Delete(':code')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a link',
    description: 'The code answers 404 from then on and is never handed out again.',
  })
  @ApiNoContentResponse({ description: 'Deleted; the code answers 404 from now on' })
  @ApiProblem(400, 'MALFORMED_URL')
  @ApiProblem(404, 'LINK_NOT_FOUND')
  @ApiParam(CODE_PARAM)
  async remove(
    @Param('code') code: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.links.delete(code, scopeOf(principal));
  }
}
