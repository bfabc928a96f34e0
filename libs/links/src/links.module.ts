import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CachingModule } from '@app/caching';
import { Link } from './link.entity';
import { LinksRepository } from './links.repository';
import { LinksService } from './links.service';

@Module({
  imports: [TypeOrmModule.forFeature([Link]), CachingModule],
  providers: [LinksRepository, LinksService],
  exports: [LinksService],
})
export class LinksModule {}
