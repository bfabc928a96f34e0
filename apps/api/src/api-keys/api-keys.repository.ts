import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import { ApiKey, type ApiKeyRole } from './api-key.entity';

export interface NewApiKey {
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly keyHash: string;
  readonly keyPrefix: string;
  readonly expiresAt: Date | null;
}

/** All SQL about API keys, on the primary (a revocation must count at once). */
@Injectable()
export class ApiKeysRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(key: NewApiKey, now: Date): Promise<ApiKey> {
    const entity = this.dataSource.manager.create(ApiKey, {
      ...key,
      revokedAt: null,
      createdAt: now,
    });
    return this.dataSource.manager.save(ApiKey, entity);
  }

  findByHash(keyHash: string): Promise<ApiKey | null> {
    return this.dataSource.manager.findOneBy(ApiKey, { keyHash });
  }

  findById(id: string): Promise<ApiKey | null> {
    return this.dataSource.manager.findOneBy(ApiKey, { id });
  }

  listNewestFirst(): Promise<ApiKey[]> {
    return this.dataSource.manager.find(ApiKey, { order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** Sets revoked_at unless already set; false when there is no key with `id`. */
  async revoke(id: string, now: Date): Promise<boolean> {
    await this.dataSource.manager.update(ApiKey, { id, revokedAt: IsNull() }, { revokedAt: now });
    return (await this.findById(id)) !== null;
  }
}
