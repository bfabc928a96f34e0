import { Inject, Injectable, Optional, ServiceUnavailableException } from '@nestjs/common';
import { ReplicaReads } from '@app/database';
import { ClickHouseClicks } from './clickhouse/clickhouse-clicks';

export interface DailyClicks {
  /** YYYY-MM-DD (UTC). */
  readonly day: string;
  readonly total: number;
  readonly human: number;
  /** Distinct visitors of the day (decision 51), and those of them not flagged as bots. */
  readonly visitors: number;
  readonly humanVisitors: number;
}

export const BREAKDOWNS = ['referrers', 'countries', 'browsers', 'os', 'devices'] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];

export interface BreakdownRow {
  readonly dimension: Breakdown;
  readonly value: string | null;
  readonly clicks: number;
}

/**
 * Read-side queries over rollups and clicks; they go to a replica when one is configured and
 * reachable (the primary otherwise, see ReplicaReads). With CLICKS_SINK=clickhouse the breakdowns
 * come from ClickHouse, which holds the descriptive columns; the daily counts stay PostgreSQL's
 * exactly-once rollups either way.
 */
@Injectable()
export class StatsRepository {
  constructor(
    private readonly replicas: ReplicaReads,
    @Optional()
    @Inject(ClickHouseClicks)
    private readonly clickhouse: ClickHouseClicks | null = null,
  ) {}

  /** Rollup rows of `linkId` from `fromDay` to `toDay` inclusive, by day. */
  dailyClicks(linkId: string, fromDay: string, toDay: string): Promise<DailyClicks[]> {
    return this.replicas.read(async (runner) => {
      const rows = (await runner.query(
        `SELECT to_char("day", 'YYYY-MM-DD') AS day, "total"::text AS total, "human"::text AS human,
                "visitors", "human_visitors"
           FROM "click_daily_rollups"
          WHERE "link_id" = $1 AND "day" BETWEEN $2::date AND $3::date
          ORDER BY "day"`,
        [linkId, fromDay, toDay],
      )) as {
        day: string;
        total: string;
        human: string;
        visitors: number;
        human_visitors: number;
      }[];
      return rows.map((r) => ({
        day: r.day,
        total: Number(r.total),
        human: Number(r.human),
        visitors: r.visitors,
        humanVisitors: r.human_visitors,
      }));
    });
  }

  /**
   * Clicks of `linkId` in [from, to) counted by referrer host, country, browser, OS and device
   * type, in one scan of the link's rows (GROUPING SETS).
   */
  breakdowns(linkId: string, from: Date, to: Date, includeBots: boolean): Promise<BreakdownRow[]> {
    if (this.clickhouse) {
      // An outage of ClickHouse is the service's, not a bug: 503 SERVICE_UNAVAILABLE, not a 500.
      return this.clickhouse.breakdowns(linkId, from, to, includeBots).catch((error: unknown) => {
        throw new ServiceUnavailableException('the click store (ClickHouse) did not answer', {
          cause: error,
        });
      });
    }
    return this.replicas.read(async (runner) => {
      const rows = (await runner.query(
        `SELECT CASE
                    WHEN GROUPING("referrer_host") = 0 THEN 'referrers'
                    WHEN GROUPING("country") = 0 THEN 'countries'
                    WHEN GROUPING("browser") = 0 THEN 'browsers'
                    WHEN GROUPING("os") = 0 THEN 'os'
                    ELSE 'devices'
                  END AS dimension,
                  COALESCE("referrer_host", "country", "browser", "os", "device_type") AS value,
                  count(*)::text AS clicks
             FROM "clicks"
            WHERE "link_id" = $1 AND "occurred_at" >= $2 AND "occurred_at" < $3
              AND ($4::boolean OR NOT "is_bot")
            GROUP BY GROUPING SETS (("referrer_host"), ("country"), ("browser"), ("os"), ("device_type"))`,
        [linkId, from.toISOString(), to.toISOString(), includeBots],
      )) as { dimension: Breakdown; value: string | null; clicks: string }[];
      return rows.map((r) => ({
        dimension: r.dimension,
        value: r.value,
        clicks: Number(r.clicks),
      }));
    });
  }
}
