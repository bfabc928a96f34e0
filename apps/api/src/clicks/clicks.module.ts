import { Module } from '@nestjs/common';
import { AnalyticsModule } from '@app/analytics';
import { ClickRecorder } from './click-recorder';

/** The api's side of clicks: the recorder the redirect calls, and (inline) the pipeline itself. */
@Module({
  imports: [AnalyticsModule],
  providers: [ClickRecorder],
  exports: [ClickRecorder],
})
export class ClicksModule {}
