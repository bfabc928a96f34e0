import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CachingModule } from '@app/caching';
import { LinkBlocklist } from './link-blocklist';
import { Link } from './link.entity';
import { LinksRepository } from './links.repository';
import { LinksService } from './links.service';
import { VisitCaps } from './visit-caps';

@Module({
  imports: [TypeOrmModule.forFeature([Link]), CachingModule],
  providers: [LinkBlocklist, LinksRepository, LinksService, VisitCaps],
  exports: [LinksService, LinkBlocklist, VisitCaps],
})
export class LinksModule {}
