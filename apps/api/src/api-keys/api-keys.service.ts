import { Injectable } from '@nestjs/common';
import { ValidationFailedError } from '@app/core';
import { generateApiKey, hashApiKey, isUsable, looksLikeApiKey } from './api-key';
import type { ApiKey, ApiKeyRole } from './api-key.entity';
import { apiKeyNotFound } from './api-keys.errors';
import { ApiKeysRepository } from './api-keys.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CreateApiKeyInput {
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly expiresAt?: Date;
}

/** Issues, lists, revokes and checks API keys. Used by the HTTP API and the command line. */
@Injectable()
export class ApiKeysService {
  constructor(private readonly repository: ApiKeysRepository) {}

  /** Creates a key; `key` is returned here and nowhere else, ever. */
  async create(
    input: CreateApiKeyInput,
    now = new Date(),
  ): Promise<{ apiKey: ApiKey; key: string }> {
    if (input.expiresAt !== undefined && input.expiresAt <= now) {
      throw new ValidationFailedError([{ field: 'expiresAt', message: 'must be in the future' }]);
    }
    const { key, hash, prefix } = generateApiKey();
    const apiKey = await this.repository.insert(
      {
        name: input.name,
        role: input.role,
        keyHash: hash,
        keyPrefix: prefix,
        expiresAt: input.expiresAt ?? null,
      },
      now,
    );
    return { apiKey, key };
  }

  list(): Promise<ApiKey[]> {
    return this.repository.listNewestFirst();
  }

  /** Revokes the key with `id` (again is fine); API_KEY_NOT_FOUND when there is none. */
  async revoke(id: string, now = new Date()): Promise<void> {
    if (!UUID.test(id) || !(await this.repository.revoke(id, now))) throw apiKeyNotFound(id);
  }

  /** The stored key `key` stands for if it is usable at `now`; null otherwise. */
  async authenticate(key: string, now = new Date()): Promise<ApiKey | null> {
    if (!looksLikeApiKey(key)) return null;
    const apiKey = await this.repository.findByHash(hashApiKey(key));
    return apiKey && isUsable(apiKey, now) ? apiKey : null;
  }
}
