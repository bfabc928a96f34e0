import { Module } from '@nestjs/common';
import { ClicksRepository } from './clicks.repository';
import { ClickIngestService } from './ingest.service';
import { StatsRepository } from './stats.repository';
import { VisitorSaltsRepository } from './visitor-salts.repository';

/**
 * The click pipeline's storage side (ingest into `clicks` and the rollups) and the stats queries.
 * Needs the DatabaseModule's DataSource. Nothing heavy happens until the first click is ingested.
 */
@Module({
  providers: [ClicksRepository, ClickIngestService, StatsRepository, VisitorSaltsRepository],
  exports: [ClickIngestService, StatsRepository],
})
export class AnalyticsModule {}
