import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AppConfig } from '@app/config';
import { LinksService } from '@app/links';
import { ValidationFailedError } from '@app/observability';
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

const DEFAULT_PAGE_SIZE = 20;

@ApiTags('links')
@ApiSecurity('api-key')
@ApiUnauthorizedResponse({ description: 'API_KEY_MISSING, API_KEY_INVALID' })
@Controller('api/v1/links')
export class LinksController {
  constructor(
    private readonly links: LinksService,
    private readonly app: AppConfig,
  ) {}

  @Post()
  @ApiCreatedResponse({ type: LinkResponse })
  @ApiBadRequestResponse({
    description: 'VALIDATION_FAILED, URL_NOT_ALLOWED, URL_BLOCKED, ALIAS_RESERVED',
  })
  @ApiConflictResponse({ description: 'ALIAS_TAKEN' })
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
    });
    return toLinkResponse(link, this.app.publicBaseUrl);
  }

  @Get()
  @ApiOkResponse({ type: LinkPageResponse, description: 'Newest first' })
  async list(
    @Query() query: ListLinksQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LinkPageResponse> {
    const page = await this.links.list(
      query.limit ?? DEFAULT_PAGE_SIZE,
      query.cursor,
      scopeOf(principal),
    );
    return {
      items: page.items.map((link) => toLinkResponse(link, this.app.publicBaseUrl)),
      nextCursor: page.nextCursor,
    };
  }

  @Get(':code')
  @ApiOkResponse({ type: LinkResponse })
  @ApiNotFoundResponse({ description: 'LINK_NOT_FOUND' })
  async get(
    @Param('code') code: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LinkResponse> {
    return toLinkResponse(await this.links.get(code, scopeOf(principal)), this.app.publicBaseUrl);
  }

  @Patch(':code')
  @ApiOkResponse({ type: LinkResponse })
  @ApiBadRequestResponse({
    description:
      'VALIDATION_FAILED, URL_NOT_ALLOWED, URL_BLOCKED (also on enabling a blocked link)',
  })
  @ApiNotFoundResponse({ description: 'LINK_NOT_FOUND' })
  async update(
    @Param('code') code: string,
    @Body() body: UpdateLinkDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LinkResponse> {
    if (Object.keys(body).length === 0) {
      throw new ValidationFailedError([
        { field: 'body', message: 'set at least one of url, expiresAt, redirectType, disabled' },
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
      },
      scopeOf(principal),
    );
    return toLinkResponse(link, this.app.publicBaseUrl);
  }

  @Delete(':code')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted; the code answers 404 from now on' })
  @ApiNotFoundResponse({ description: 'LINK_NOT_FOUND' })
  async remove(
    @Param('code') code: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.links.delete(code, scopeOf(principal));
  }
}
