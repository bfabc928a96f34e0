import { Module } from '@nestjs/common';
import { LinksModule } from '@app/links';
import { ClicksModule } from '../clicks/clicks.module';
import { RedirectController } from './redirect.controller';
import { RedirectService } from './redirect.service';

@Module({
  imports: [LinksModule, ClicksModule],
  controllers: [RedirectController],
  providers: [RedirectService],
})
export class RedirectModule {}
