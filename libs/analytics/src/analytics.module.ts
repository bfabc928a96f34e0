import { Module } from '@nestjs/common';
import { ClickPartitionsRepository } from './click-partitions.repository';
import { ClickHouseClicks } from './clickhouse/clickhouse-clicks';
import { ClickHouseGate, clickHouseProvider } from './clickhouse/clickhouse.providers';
import { ClicksRepository } from './clicks.repository';
import { ClickIngestService } from './ingest.service';
import { ClickRetention, RAW_CLICK_STORES } from './retention.service';
import { StatsRepository } from './stats.repository';
import { VisitorSaltsRepository } from './visitor-salts.repository';

/**
 * The click pipeline's storage side (ingest into `clicks` and the rollups), the stats queries and
 * the retention of raw clicks.
 * Needs the DatabaseModule's DataSource. Nothing heavy happens until the first click is ingested.
 * With CLICKS_SINK=clickhouse, the wide rows go to ClickHouse and the breakdowns are read there.
 */
@Module({
  providers: [
    ClicksRepository,
    ClickIngestService,
    StatsRepository,
    VisitorSaltsRepository,
    ClickPartitionsRepository,
    ClickRetention,
    clickHouseProvider,
    ClickHouseGate,
    // The raw click stores besides PostgreSQL that retention prunes too: ClickHouse, when the sink.
    {
      provide: RAW_CLICK_STORES,
      useFactory: (clickhouse: ClickHouseClicks | null) => (clickhouse ? [clickhouse] : []),
      inject: [{ token: ClickHouseClicks, optional: true }],
    },
  ],
  exports: [ClickIngestService, StatsRepository, ClickRetention, ClickHouseClicks],
})
export class AnalyticsModule {}
