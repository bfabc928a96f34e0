import { Module } from '@nestjs/common';
import { LinksModule as LinksDomainModule } from '@app/links';
import { LinksController } from './links.controller';

@Module({
  imports: [LinksDomainModule],
  controllers: [LinksController],
})
export class LinksApiModule {}
