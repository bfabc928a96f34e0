import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { ClickIngestService } from '@app/analytics';
import { CLICK_PATTERN, settleClick } from '@app/clicks';

/**
 * The one handler of click events, whichever transport brings them: hand the event to the
 * pipeline, and once it is stored (or refused) acknowledge it (or dead-letter it).
 */
@Controller()
export class ClicksController {
  constructor(private readonly ingest: ClickIngestService) {}

  @EventPattern(CLICK_PATTERN)
  async onClick(@Payload() event: unknown, @Ctx() context: unknown): Promise<void> {
    const outcome = await this.ingest.accept(event);
    settleClick(context, outcome);
  }
}
