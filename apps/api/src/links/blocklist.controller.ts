import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ENFORCE_CODES_SHOWN, LinksService } from '@app/links';
import { Roles } from '../api-keys/api-access';
import { ApiCommonProblems, ApiProblem } from '../openapi';

export class BlocklistEnforcementResponse {
  @ApiProperty({ description: 'The blocked domains enforced', example: ['bad.example'] })
  domains!: string[];

  @ApiProperty({
    description: 'How many links were disabled now',
    example: 2,
    type: 'integer',
    minimum: 0,
  })
  disabled!: number;

  @ApiProperty({
    description: `Codes of the links disabled (the first ${ENFORCE_CODES_SHOWN})`,
    example: ['aZ3kP0q', 'promo'],
  })
  codes!: string[];
}

/** Operator actions on the destination blocklist, for admin keys only. */
@ApiTags('admin')
@ApiSecurity('api-key')
@ApiCommonProblems()
@ApiProblem(403, 'FORBIDDEN: not an admin key')
@Roles('admin')
@Controller('api/v1/admin/blocklist')
export class BlocklistController {
  constructor(private readonly links: LinksService) {}

  /**
   * Disables every live link whose target is on a blocked domain (URL_BLOCKED_DOMAINS and
   * URL_BLOCKLIST_FILE, read afresh) or a subdomain of one, and evicts it from every cache: its
   * redirect answers 410 at once, on every instance.
   */
  @Post('enforce')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Disable every link to a blocked domain',
    description:
      'Admin keys only. Re-reads URL_BLOCKED_DOMAINS and URL_BLOCKLIST_FILE, disables every live ' +
      'link whose target host is a blocked domain or a subdomain of one, and evicts it from ' +
      'every cache, so its redirect answers 410 at once on every instance.',
  })
  @ApiOkResponse({ type: BlocklistEnforcementResponse })
  async enforce(): Promise<BlocklistEnforcementResponse> {
    return this.links.enforceBlocklist();
  }
}
