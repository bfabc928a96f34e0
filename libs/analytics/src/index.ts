export { AnalyticsModule } from './analytics.module';
export { ClickEnricher, loadCountryLookup } from './enrichment';
export type { ClickRow } from './enrichment';
export { ClicksRepository } from './clicks.repository';
export { ClickIngestService } from './ingest.service';
export type { IngestOutcome } from './ingest.service';
export { BREAKDOWNS, StatsRepository } from './stats.repository';
export type { Breakdown, BreakdownRow } from './stats.repository';
