import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Length, Matches } from 'class-validator';
import { API_KEY_ROLES, type ApiKey, type ApiKeyRole } from './api-key.entity';

export class CreateApiKeyDto {
  @ApiProperty({ description: 'What the key is for', example: 'ci', maxLength: 100 })
  @IsString()
  @Length(1, 100)
  @Matches(/^[^\p{Cc}]+$/u, { message: 'must not contain control characters' })
  name!: string;

  @ApiProperty({
    enum: API_KEY_ROLES,
    description: 'admin: everything, key management included; user: its own links only',
  })
  @IsIn(API_KEY_ROLES, { message: 'must be one of admin, user' })
  role!: ApiKeyRole;

  @ApiPropertyOptional({ format: 'date-time', description: 'When the key stops working' })
  @IsOptional()
  @IsISO8601(
    { strict: true, strictSeparator: true },
    { message: 'must be an ISO 8601 date-time, such as 2030-01-31T12:00:00Z' },
  )
  expiresAt?: string;
}

export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'ci' }) name!: string;
  @ApiProperty({ enum: API_KEY_ROLES }) role!: ApiKeyRole;
  @ApiProperty({ example: 'snip_3q2Xa9k', description: 'First characters of the key' })
  keyPrefix!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) revokedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class CreatedApiKeyResponse extends ApiKeyResponse {
  @ApiProperty({
    description: 'The key itself: send it as X-Api-Key. Shown this once; only its hash is kept.',
    example: 'snip_3q2Xa9kL0s8vJ2m1Qe7cY4bN6tR5uW0zH9xP3aD1fG8',
  })
  key!: string;
}

export function toApiKeyResponse(apiKey: ApiKey): ApiKeyResponse {
  return {
    id: apiKey.id,
    name: apiKey.name,
    role: apiKey.role,
    keyPrefix: apiKey.keyPrefix,
    expiresAt: apiKey.expiresAt?.toISOString() ?? null,
    revokedAt: apiKey.revokedAt?.toISOString() ?? null,
    createdAt: apiKey.createdAt.toISOString(),
  };
}
