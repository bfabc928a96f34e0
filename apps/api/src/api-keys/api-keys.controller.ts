import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Roles } from './api-access';
import {
  ApiKeyResponse,
  CreateApiKeyDto,
  CreatedApiKeyResponse,
  toApiKeyResponse,
} from './api-keys.dto';
import { ApiKeysService } from './api-keys.service';

/** Key management, for admin keys only. */
@ApiTags('api-keys')
@ApiSecurity('api-key')
@ApiUnauthorizedResponse({ description: 'API_KEY_MISSING, API_KEY_INVALID' })
@ApiForbiddenResponse({ description: 'FORBIDDEN: not an admin key' })
@Roles('admin')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedApiKeyResponse, description: 'The key is shown this once' })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED' })
  async create(@Body() body: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    const { apiKey, key } = await this.keys.create({
      name: body.name,
      role: body.role,
      expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
    });
    return { ...toApiKeyResponse(apiKey), key };
  }

  @Get()
  @ApiOkResponse({ type: [ApiKeyResponse], description: 'Newest first; revoked keys included' })
  async list(): Promise<ApiKeyResponse[]> {
    return (await this.keys.list()).map(toApiKeyResponse);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked (at once, on every instance)' })
  @ApiNotFoundResponse({ description: 'API_KEY_NOT_FOUND' })
  async revoke(@Param('id') id: string): Promise<void> {
    await this.keys.revoke(id);
  }
}
