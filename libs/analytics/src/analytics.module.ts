import { Module } from '@nestjs/common';
import { ClickPartitionsRepository } from './click-partitions.repository';
import { ClicksRepository } from './clicks.repository';
import { ClickIngestService } from './ingest.service';
import { ClickRetention, RAW_CLICK_STORES } from './retention.service';
import { StatsRepository } from './stats.repository';
import { VisitorSaltsRepository } from './visitor-salts.repository';

/**
 * The click pipeline's storage side (ingest into `clicks` and the rollups), the stats queries and
 * the retention of raw clicks.
 * Needs the DatabaseModule's DataSource. Nothing heavy happens until the first click is ingested.
 */
@Module({
  providers: [
    ClicksRepository,
    ClickIngestService,
    StatsRepository,
    VisitorSaltsRepository,
    ClickPartitionsRepository,
    ClickRetention,
    // The raw click stores other than PostgreSQL that retention prunes too (a ClickHouse sink).
    { provide: RAW_CLICK_STORES, useValue: [] },
  ],
  exports: [ClickIngestService, StatsRepository, ClickRetention],
})
export class AnalyticsModule {}
