import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiAccess } from './api-access';
import { ApiKey } from './api-key.entity';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

/**
 * Key management (/api/v1/api-keys) and ApiAccess, who calls: what the app's two global guards
 * (AppModule) and the API's throttler ask about each request.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey])],
  controllers: [ApiKeysController],
  providers: [ApiKeysRepository, ApiKeysService, ApiAccess],
  exports: [ApiAccess],
})
export class ApiKeysModule {}
