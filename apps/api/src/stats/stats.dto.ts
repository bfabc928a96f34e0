import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, Matches } from 'class-validator';

const DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const DAY_MESSAGE = 'must be a date as YYYY-MM-DD (UTC)';

export class StatsQuery {
  @ApiPropertyOptional({
    description: 'First day (UTC), inclusive; default 29 days before `to`',
    example: '2030-01-01',
    format: 'date',
  })
  @IsOptional()
  @Matches(DAY, { message: DAY_MESSAGE })
  from?: string;

  @ApiPropertyOptional({
    description: 'Last day (UTC), inclusive; default today',
    example: '2030-01-31',
    format: 'date',
  })
  @IsOptional()
  @Matches(DAY, { message: DAY_MESSAGE })
  to?: string;

  @ApiPropertyOptional({ description: 'Count clicks flagged as bots too', default: false })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean({ message: 'must be true or false' })
  includeBots?: boolean;
}

export class StatsTotals {
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Clicks counted (humans only unless includeBots)',
  })
  clicks!: number;
  @ApiProperty({ type: 'integer', minimum: 0 })
  humanClicks!: number;
  @ApiProperty({ type: 'integer', minimum: 0 })
  botClicks!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description:
      'Sum of the daily unique visitors (humans only unless includeBots). Visitor ids rotate ' +
      'daily and are never stored longer, so a visitor seen on two days counts on each',
  })
  uniqueVisitors!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Sum of the daily human visitors' })
  humanUniqueVisitors!: number;
}

export class DailyCount {
  @ApiProperty({ example: '2030-01-31', format: 'date' })
  day!: string;
  @ApiProperty({ type: 'integer', minimum: 0 })
  clicks!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description:
      'Distinct visitors of the day (a hash of the anonymised address and user agent under a ' +
      'salt of that day), humans only unless includeBots',
  })
  uniqueVisitors!: number;
}

export class BreakdownCount {
  @ApiProperty({ nullable: true, type: String, description: 'null when unknown' })
  value!: string | null;
  @ApiProperty({ type: 'integer', minimum: 0 })
  clicks!: number;
}

export class LinkStatsResponse {
  @ApiProperty()
  code!: string;
  @ApiProperty({ format: 'date' })
  from!: string;
  @ApiProperty({ format: 'date' })
  to!: string;
  @ApiProperty()
  includeBots!: boolean;
  @ApiProperty({ type: StatsTotals })
  totals!: StatsTotals;
  @ApiProperty({ type: [DailyCount], description: 'Every day of the range, oldest first' })
  daily!: DailyCount[];
  @ApiProperty({ type: [BreakdownCount], description: 'Top referrer hosts' })
  referrers!: BreakdownCount[];
  @ApiProperty({ type: [BreakdownCount], description: 'Top countries (ISO 3166-1 alpha-2)' })
  countries!: BreakdownCount[];
  @ApiProperty({ type: [BreakdownCount] })
  browsers!: BreakdownCount[];
  @ApiProperty({ type: [BreakdownCount], description: 'Top operating systems' })
  os!: BreakdownCount[];
  @ApiProperty({ type: [BreakdownCount], description: 'Device types (desktop, mobile, ...)' })
  devices!: BreakdownCount[];
}
