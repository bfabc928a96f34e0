import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CachingModule } from '@app/caching';
import { CacheWarmer } from './cache-warmer';
import { LinkBlocklist } from './link-blocklist';
import { Link } from './link.entity';
import { LinksRepository } from './links.repository';
import { LinksService } from './links.service';
import { VisitCaps } from './visit-caps';

@Module({
  imports: [TypeOrmModule.forFeature([Link]), CachingModule],
  providers: [CacheWarmer, LinkBlocklist, LinksRepository, LinksService, VisitCaps],
  exports: [CacheWarmer, LinksService, LinkBlocklist, VisitCaps],
})
export class LinksModule {}
