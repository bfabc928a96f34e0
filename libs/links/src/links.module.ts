import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CachingModule } from '@app/caching';
import { LinkBlocklist } from './link-blocklist';
import { Link } from './link.entity';
import { LinksRepository } from './links.repository';
import { LinksService } from './links.service';

@Module({
  imports: [TypeOrmModule.forFeature([Link]), CachingModule],
  providers: [LinkBlocklist, LinksRepository, LinksService],
  exports: [LinksService, LinkBlocklist],
})
export class LinksModule {}
