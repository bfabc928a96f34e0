import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { CurrentPrincipal } from '../api-keys/api-access';
import { scopeOf, type Principal } from '../api-keys/api-key';
import { LinkStatsResponse, StatsQuery } from './stats.dto';
import { StatsService } from './stats.service';

@ApiTags('links')
@ApiSecurity('api-key')
@ApiUnauthorizedResponse({ description: 'API_KEY_MISSING, API_KEY_INVALID' })
@Controller('api/v1/links')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get(':code/stats')
  @ApiOperation({
    summary: 'Click statistics of a link',
    description:
      'Totals and clicks per day come from the daily rollups; referrers, countries, browsers, ' +
      'operating systems and device types from the stored clicks. Bots are left out unless ' +
      '`includeBots=true`. Clicks appear once the logs pipeline has stored them (normally well ' +
      'under two seconds).',
  })
  @ApiOkResponse({ type: LinkStatsResponse })
  @ApiBadRequestResponse({
    description: 'VALIDATION_FAILED (bad dates, from after to, range too long)',
  })
  @ApiNotFoundResponse({ description: 'LINK_NOT_FOUND' })
  get(
    @Param('code') code: string,
    @Query() query: StatsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LinkStatsResponse> {
    return this.stats.forLink(code, query, scopeOf(principal));
  }
}
