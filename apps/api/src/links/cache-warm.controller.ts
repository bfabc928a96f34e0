import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { ValidationFailedError } from '@app/core';
import {
  CacheWarmer,
  CODE_PATTERN,
  parseSince,
  WARM_ALL_DEFAULT,
  WARM_ALL_MAX,
  WARM_CODES_MAX,
  WARM_SINCE_DEFAULT,
  WARM_TOP_MAX,
  type WarmSelection,
} from '@app/links';
import { Roles } from '../api-keys/api-access';
import { ApiCommonProblems, ApiProblem } from '../openapi';

const SINCE_PATTERN = /^[1-9]\d{0,5}[mhd]$/;

export class CacheWarmDto {
  @ApiPropertyOptional({
    description: 'Warm the links with the most clicks in the window `since`, this many',
    type: 'integer',
    minimum: 1,
    maximum: WARM_TOP_MAX,
    example: 10_000,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(WARM_TOP_MAX)
  top?: number;

  @ApiPropertyOptional({
    description: `The click window of \`top\`: minutes, hours or days (\`90m\`, \`24h\`, \`7d\`, at most 366d); rollups are by UTC day, so the window starts at the beginning of its first day. Default ${WARM_SINCE_DEFAULT}`,
    pattern: SINCE_PATTERN.source,
    example: '24h',
  })
  @IsOptional()
  @IsString()
  @Matches(SINCE_PATTERN, { message: 'must be minutes, hours or days, such as 90m, 24h or 7d' })
  since?: string;

  @ApiPropertyOptional({
    description: `Warm these codes (at most ${WARM_CODES_MAX}); unknown or deleted ones are counted in \`missing\``,
    type: [String],
    maxItems: WARM_CODES_MAX,
    example: ['aZ3kP0q', 'spring-sale'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(WARM_CODES_MAX)
  @IsString({ each: true })
  @Matches(CODE_PATTERN, { each: true, message: 'each must be a short code' })
  codes?: string[];

  @ApiPropertyOptional({ description: 'Warm every live link, by id, up to `limit`' })
  @IsOptional()
  @IsBoolean()
  all?: boolean;

  @ApiPropertyOptional({
    description: `With \`all\`: most links to warm (default ${WARM_ALL_DEFAULT})`,
    type: 'integer',
    minimum: 1,
    maximum: WARM_ALL_MAX,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(WARM_ALL_MAX)
  limit?: number;

  @ApiPropertyOptional({
    description:
      "Also load the links into L1: this instance's and, through Redis pub/sub, every other " +
      "instance's (each takes as many as CACHE_L1_MAX_ENTRIES allows, for CACHE_L1_TTL_MS)",
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  l1?: boolean;
}

export class CacheWarmResponse {
  @ApiProperty({ description: 'Links found and sent to L2', type: 'integer', minimum: 0 })
  links!: number;

  @ApiProperty({ description: 'L2 entries written', type: 'integer', minimum: 0 })
  written!: number;

  @ApiProperty({
    description: 'Entries left alone because L2 held a newer version (an update won)',
    type: 'integer',
    minimum: 0,
  })
  keptNewer!: number;

  @ApiProperty({ description: 'Codes unknown or deleted', type: 'integer', minimum: 0 })
  missing!: number;

  @ApiProperty({ description: 'Codes that are not codes (always 0 here)', type: 'integer' })
  invalid!: number;

  @ApiProperty({
    description: 'Codes loaded into L1 (and announced to the other instances)',
    type: 'integer',
    minimum: 0,
  })
  l1!: number;

  @ApiProperty({ description: 'How long the warm-up took', type: 'integer', minimum: 0 })
  durationMs!: number;
}

/** Which links `body` asks for; exactly one of `top`, `codes` and `all`. */
function warmSelectionOf(body: CacheWarmDto): WarmSelection {
  const chosen = (['top', 'codes', 'all'] as const).filter(
    (field) => body[field] !== undefined && body[field] !== false,
  );
  if (chosen.length !== 1) {
    throw new ValidationFailedError([
      { field: 'top', message: 'give exactly one of top, codes and all' },
    ]);
  }
  const misplaced = (field: string, only: string) =>
    new ValidationFailedError([{ field, message: `goes only with ${only}` }]);
  if (body.since !== undefined && body.top === undefined) throw misplaced('since', 'top');
  if (body.limit !== undefined && !body.all) throw misplaced('limit', 'all');
  if (body.top !== undefined) {
    return { kind: 'top', top: body.top, sinceMs: parseSince(body.since ?? WARM_SINCE_DEFAULT)! };
  }
  if (body.codes !== undefined) return { kind: 'codes', codes: body.codes };
  return { kind: 'all', limit: body.limit ?? WARM_ALL_DEFAULT };
}

/** Fills the link cache before a campaign, for admin keys only. */
@ApiTags('admin')
@ApiSecurity('api-key')
@ApiCommonProblems()
@ApiProblem(403, 'FORBIDDEN: not an admin key')
@Roles('admin')
@Controller('api/v1/cache')
export class CacheWarmController {
  constructor(private readonly warmer: CacheWarmer) {}

  @Post('warm')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Warm the link cache',
    description:
      'Admin keys only. Writes links to L2 (Redis) in pipelined batches, in the format and with ' +
      'the version rule of every cache write (an entry an update wrote meanwhile is never ' +
      'overwritten): the `top` links by clicks in the window `since`, the `codes` listed, or ' +
      '`all` links up to `limit`. With `l1`, every instance loads them into its in-process cache ' +
      'too. Redirects keep being served while it runs.',
  })
  @ApiOkResponse({ type: CacheWarmResponse })
  async warm(@Body() body: CacheWarmDto): Promise<CacheWarmResponse> {
    const selection = warmSelectionOf(body);
    if (selection.kind === 'top' && selection.sinceMs === undefined) {
      throw new ValidationFailedError([{ field: 'since', message: 'at most 366d' }]);
    }
    return this.warmer.warm(selection, { l1: body.l1 ?? false });
  }
}
