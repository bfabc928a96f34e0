export { AnalyticsModule } from './analytics.module';
export { ClickEnricher, loadCountryLookup } from './enrichment';
export type { ClickRow } from './enrichment';
export { ClickIngestService } from './ingest.service';
export { BREAKDOWNS, StatsRepository } from './stats.repository';
export type { Breakdown } from './stats.repository';
