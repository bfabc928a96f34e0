import { Module } from '@nestjs/common';
import { AnalyticsModule } from '@app/analytics';
import { LinksModule } from '@app/links';
import { StatsController } from './stats.controller';
import { StatsService } from './stats.service';

@Module({
  imports: [LinksModule, AnalyticsModule],
  controllers: [StatsController],
  providers: [StatsService],
})
export class StatsModule {}
