import { Module } from '@nestjs/common';
import { ClickHouseClicks } from './clickhouse/clickhouse-clicks';
import { ClickHouseGate, clickHouseProvider } from './clickhouse/clickhouse.providers';
import { ClicksRepository } from './clicks.repository';
import { ClickIngestService } from './ingest.service';
import { StatsRepository } from './stats.repository';

/**
 * The click pipeline's storage side (ingest into `clicks` and the rollups) and the stats queries.
 * Needs the DatabaseModule's DataSource. Nothing heavy happens until the first click is ingested.
 * With CLICKS_SINK=clickhouse, the wide rows go to ClickHouse and the breakdowns are read there.
 */
@Module({
  providers: [
    ClicksRepository,
    ClickIngestService,
    StatsRepository,
    clickHouseProvider,
    ClickHouseGate,
  ],
  exports: [ClickIngestService, StatsRepository, ClickHouseClicks],
})
export class AnalyticsModule {}
