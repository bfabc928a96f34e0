import { Module } from '@nestjs/common';
import { LinksModule as LinksDomainModule } from '@app/links';
import { BlocklistController } from './blocklist.controller';
import { LinksController } from './links.controller';

@Module({
  imports: [LinksDomainModule],
  controllers: [LinksController, BlocklistController],
})
export class LinksApiModule {}
