import { Module } from '@nestjs/common';
import { LinksModule as LinksDomainModule } from '@app/links';
import { BlocklistController } from './blocklist.controller';
import { BootWarmUp } from './boot-warm-up';
import { CacheWarmController } from './cache-warm.controller';
import { LinksController } from './links.controller';

@Module({
  imports: [LinksDomainModule],
  controllers: [LinksController, BlocklistController, CacheWarmController],
  providers: [BootWarmUp],
})
export class LinksApiModule {}
