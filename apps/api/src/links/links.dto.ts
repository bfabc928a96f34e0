import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import {
  ALIAS_PATTERN,
  LINK_SORTS,
  REDIRECT_TYPES,
  type Link,
  type LinkSort,
  type RedirectType,
} from '@app/links';

const ISO_DATE = { strict: true, strictSeparator: true } as const;
const ISO_MESSAGE = 'must be an ISO 8601 date-time, such as 2030-01-31T12:00:00Z';
const ALIAS_MESSAGE = 'must be 3 to 64 characters of A-Z, a-z, 0-9, "_" and "-"';
/** The largest cap: the column is a PostgreSQL integer. */
const MAX_CLICKS_LIMIT = 2_147_483_647;
const MAX_CLICKS_MESSAGE = `must be a whole number from 1 to ${MAX_CLICKS_LIMIT}`;
const MAX_CLICKS_DESCRIPTION =
  'Redirects the link answers at most (counted across every instance), then 410 LINK_EXHAUSTED';

/**
 * May be left out, but unlike @IsOptional() a null is validated like any other value (and so
 * refused), for fields that have no "none" to set.
 */
const IsOmittable = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

export class CreateLinkDto {
  @ApiProperty({
    description:
      'Absolute http(s) URL to redirect to: no credentials, no whitespace or control characters, ' +
      'at most URL_MAX_LENGTH characters, not snip itself or an address it refuses',
    example: 'https://example.com/spring-sale',
    format: 'uri',
    minLength: 1,
    maxLength: 2048,
  })
  @IsString()
  url!: string;

  @ApiPropertyOptional({
    description: 'Custom code, case-sensitive; not one of the reserved route names',
    pattern: ALIAS_PATTERN.source,
    minLength: 3,
    maxLength: 64,
    example: 'spring-sale',
  })
  @IsOmittable()
  @IsString()
  @Matches(ALIAS_PATTERN, { message: ALIAS_MESSAGE })
  alias?: string;

  @ApiPropertyOptional({
    description: 'When the link stops redirecting (410 after)',
    format: 'date-time',
  })
  @IsOmittable()
  @IsISO8601(ISO_DATE, { message: ISO_MESSAGE })
  expiresAt?: string;

  @ApiPropertyOptional({ enum: REDIRECT_TYPES, type: 'integer', default: 302 })
  @IsOmittable()
  @IsIn(REDIRECT_TYPES, { message: 'must be one of 301, 302, 307, 308' })
  redirectType?: RedirectType;

  @ApiPropertyOptional({
    description: MAX_CLICKS_DESCRIPTION,
    type: 'integer',
    minimum: 1,
    maximum: MAX_CLICKS_LIMIT,
    example: 100,
  })
  @IsOmittable()
  @IsInt({ message: MAX_CLICKS_MESSAGE })
  @Min(1, { message: MAX_CLICKS_MESSAGE })
  @Max(MAX_CLICKS_LIMIT, { message: MAX_CLICKS_MESSAGE })
  maxClicks?: number;
}

export class UpdateLinkDto {
  @ApiPropertyOptional({
    description: 'New target URL, under the same policy as on creation',
    format: 'uri',
    minLength: 1,
    maxLength: 2048,
  })
  @IsOmittable()
  @IsString()
  url?: string;

  @ApiPropertyOptional({
    description: 'New expiry; null removes it',
    format: 'date-time',
    nullable: true,
    type: String,
  })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsISO8601(ISO_DATE, { message: ISO_MESSAGE })
  expiresAt?: string | null;

  @ApiPropertyOptional({ enum: REDIRECT_TYPES, type: 'integer' })
  @IsOmittable()
  @IsIn(REDIRECT_TYPES, { message: 'must be one of 301, 302, 307, 308' })
  redirectType?: RedirectType;

  @ApiPropertyOptional({ description: 'A disabled link answers 410' })
  @IsOmittable()
  @IsBoolean()
  disabled?: boolean;

  @ApiPropertyOptional({
    description: `${MAX_CLICKS_DESCRIPTION}; null removes the cap. Visits already answered count`,
    type: 'integer',
    minimum: 1,
    maximum: MAX_CLICKS_LIMIT,
    nullable: true,
  })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsInt({ message: MAX_CLICKS_MESSAGE })
  @Min(1, { message: MAX_CLICKS_MESSAGE })
  @Max(MAX_CLICKS_LIMIT, { message: MAX_CLICKS_MESSAGE })
  maxClicks?: number | null;
}

export class ListLinksQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number' })
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({
    description:
      'Order: `-createdAt` (newest first), `createdAt`, `-clicks` (most clicked first) or ' +
      '`clicks`; ties by id. A cursor is only valid in the order that issued it',
    enum: LINK_SORTS,
    default: '-createdAt',
  })
  @IsOptional()
  @IsIn(LINK_SORTS, { message: `must be one of ${LINK_SORTS.join(', ')}` })
  sort?: LinkSort;
}

export class LinkResponse {
  @ApiProperty({ example: 'aZ3kP9q' }) code!: string;
  @ApiProperty({ example: 'http://localhost:3000/aZ3kP9q' }) shortUrl!: string;
  @ApiProperty({ example: 'https://example.com/spring-sale' }) url!: string;
  @ApiPropertyOptional({ description: 'Present when the code is a custom alias' }) alias?: string;
  @ApiProperty({ enum: REDIRECT_TYPES, type: 'integer' }) redirectType!: RedirectType;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt!: string | null;
  @ApiProperty() disabled!: boolean;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Redirects the link answers at most; null for no cap',
  })
  maxClicks!: number | null;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description:
      'Visits stored so far, bots included (the all-time total of the stats); written behind ' +
      'in batches by the click pipeline, so it trails the redirects by a moment',
  })
  clicks!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class LinkPageResponse {
  @ApiProperty({ type: [LinkResponse] }) items!: LinkResponse[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as cursor for the next page' })
  nextCursor!: string | null;
}

export function toLinkResponse(link: Link, publicBaseUrl: string): LinkResponse {
  return {
    code: link.code,
    shortUrl: `${publicBaseUrl}/${link.code}`,
    url: link.url,
    ...(link.isCustom ? { alias: link.code } : {}),
    redirectType: link.redirectType,
    expiresAt: link.expiresAt?.toISOString() ?? null,
    disabled: link.disabled,
    maxClicks: link.maxClicks,
    clicks: link.clicks,
    createdAt: link.createdAt.toISOString(),
    updatedAt: link.updatedAt.toISOString(),
  };
}
