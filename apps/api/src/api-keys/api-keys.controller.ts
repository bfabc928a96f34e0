import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { ApiBodyProblems, ApiCommonProblems, ApiProblem } from '../openapi';
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
@ApiCommonProblems()
@ApiProblem(403, 'FORBIDDEN: not an admin key')
@Roles('admin')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({
    summary: 'Create an API key',
    description: 'Admin keys only. The key is in this answer only; snip keeps its hash.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyResponse, description: 'The key is shown this once' })
  @ApiBodyProblems('VALIDATION_FAILED')
  async create(@Body() body: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    const { apiKey, key } = await this.keys.create({
      name: body.name,
      role: body.role,
      expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
    });
    return { ...toApiKeyResponse(apiKey), key };
  }

  @Get()
  @ApiOperation({ summary: 'List API keys', description: 'Admin keys only. Never the keys.' })
  @ApiOkResponse({ type: [ApiKeyResponse], description: 'Newest first; revoked keys included' })
  async list(): Promise<ApiKeyResponse[]> {
    return (await this.keys.list()).map(toApiKeyResponse);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Revoke an API key',
    description: 'Admin keys only. The key stops working at once, on every instance.',
  })
  @ApiNoContentResponse({ description: 'Revoked (at once, on every instance)' })
  @ApiProblem(400, 'MALFORMED_URL')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The key id (not the key itself)' })
  @ApiProblem(404, 'API_KEY_NOT_FOUND (also for an id that is not a UUID)')
  async revoke(@Param('id') id: string): Promise<void> {
    await this.keys.revoke(id);
  }
}
