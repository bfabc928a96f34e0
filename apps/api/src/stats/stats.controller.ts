import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { CODE_PARAM, ApiCommonProblems, ApiProblem } from '../openapi';
import { CurrentPrincipal } from '../api-keys/api-access';
import { scopeOf, type Principal } from '../api-keys/api-key';
import { LinkStatsResponse, StatsQuery } from './stats.dto';
import { StatsService } from './stats.service';

@ApiTags('links')
@ApiSecurity('api-key')
@ApiCommonProblems()
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
  @ApiProblem(400, 'VALIDATION_FAILED (bad dates, from after to, range too long), MALFORMED_URL')
  @ApiProblem(404, 'LINK_NOT_FOUND')
  @ApiParam(CODE_PARAM)
  get(
    @Param('code') code: string,
    @Query() query: StatsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LinkStatsResponse> {
    return this.stats.forLink(code, query, scopeOf(principal));
  }
}
