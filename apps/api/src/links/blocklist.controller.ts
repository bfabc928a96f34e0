import { Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiProperty,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ENFORCE_CODES_SHOWN, LinksService } from '@app/links';
import { Roles } from '../api-keys/api-access';

export class BlocklistEnforcementResponse {
  @ApiProperty({ description: 'The blocked domains enforced', example: ['bad.example'] })
  domains!: string[];

  @ApiProperty({ description: 'How many links were disabled now', example: 2 })
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
@ApiUnauthorizedResponse({ description: 'API_KEY_MISSING, API_KEY_INVALID' })
@ApiForbiddenResponse({ description: 'FORBIDDEN: not an admin key' })
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
  @ApiOkResponse({ type: BlocklistEnforcementResponse })
  async enforce(): Promise<BlocklistEnforcementResponse> {
    return this.links.enforceBlocklist();
  }
}
