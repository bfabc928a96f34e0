import { Injectable } from '@nestjs/common';
import { BREAKDOWNS, StatsRepository, type Breakdown } from '@app/analytics';
import { LinksService, type LinkScope } from '@app/links';
import { ValidationFailedError } from '@app/core';
import type { BreakdownCount, LinkStatsResponse } from './stats.dto';

const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;
const TOP = 10;

export interface StatsRange {
  readonly from?: string;
  readonly to?: string;
  readonly includeBots?: boolean;
}

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const parseDay = (day: string): number => Date.parse(`${day}T00:00:00Z`);

/** Click statistics of one link over a range of UTC days. */
@Injectable()
export class StatsService {
  constructor(
    private readonly links: LinksService,
    private readonly stats: StatsRepository,
  ) {}

  /** Stats of the link `code`, if `scope` may see it (LINK_NOT_FOUND otherwise). */
  async forLink(
    code: string,
    range: StatsRange,
    scope: LinkScope = {},
    now = new Date(),
  ): Promise<LinkStatsResponse> {
    const { fromMs, toMs } = resolveRange(range, now);
    const includeBots = range.includeBots ?? false;
    const link = await this.links.get(code, scope);
    const [daily, breakdowns] = await Promise.all([
      this.stats.dailyClicks(link.id, dayOf(fromMs), dayOf(toMs)),
      this.stats.breakdowns(link.id, new Date(fromMs), new Date(toMs + DAY_MS), includeBots),
    ]);
    const byDay = new Map(daily.map((d) => [d.day, d]));
    const days: { day: string; clicks: number; uniqueVisitors: number }[] = [];
    for (let ms = fromMs; ms <= toMs; ms += DAY_MS) {
      const row = byDay.get(dayOf(ms));
      days.push({
        day: dayOf(ms),
        clicks: row ? (includeBots ? row.total : row.human) : 0,
        uniqueVisitors: row ? (includeBots ? row.visitors : row.humanVisitors) : 0,
      });
    }
    const sum = (field: 'total' | 'human' | 'visitors' | 'humanVisitors'): number =>
      daily.reduce((acc, d) => acc + d[field], 0);
    const [total, human, visitors, humanVisitors] = [
      sum('total'),
      sum('human'),
      sum('visitors'),
      sum('humanVisitors'),
    ];
    const top = Object.fromEntries(BREAKDOWNS.map((b) => [b, [] as BreakdownCount[]])) as Record<
      Breakdown,
      BreakdownCount[]
    >;
    for (const row of breakdowns) top[row.dimension].push({ value: row.value, clicks: row.clicks });
    for (const list of Object.values(top)) {
      list.sort((a, b) => b.clicks - a.clicks || String(a.value).localeCompare(String(b.value)));
      list.splice(TOP);
    }
    return {
      code: link.code,
      from: dayOf(fromMs),
      to: dayOf(toMs),
      includeBots,
      // Visitors are summed over the days: the ids rotate daily (decision 51).
      totals: {
        clicks: includeBots ? total : human,
        humanClicks: human,
        botClicks: total - human,
        uniqueVisitors: includeBots ? visitors : humanVisitors,
        humanUniqueVisitors: humanVisitors,
      },
      daily: days,
      ...top,
    };
  }
}

function resolveRange(range: StatsRange, now: Date): { fromMs: number; toMs: number } {
  const toMs = range.to === undefined ? parseDay(dayOf(now.getTime())) : parseDay(range.to);
  const fromMs =
    range.from === undefined ? toMs - (DEFAULT_DAYS - 1) * DAY_MS : parseDay(range.from);
  const problems = [];
  if (Number.isNaN(fromMs)) problems.push({ field: 'from', message: 'is not a calendar date' });
  if (Number.isNaN(toMs)) problems.push({ field: 'to', message: 'is not a calendar date' });
  if (problems.length === 0 && fromMs > toMs) {
    problems.push({ field: 'from', message: 'must not be after to' });
  }
  if (problems.length === 0 && (toMs - fromMs) / DAY_MS + 1 > MAX_DAYS) {
    problems.push({ field: 'from', message: `the range may span at most ${MAX_DAYS} days` });
  }
  if (problems.length > 0) throw new ValidationFailedError(problems);
  return { fromMs, toMs };
}
