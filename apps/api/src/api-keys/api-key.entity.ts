import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const API_KEY_ROLES = ['admin', 'user'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** An API key as stored: its SHA-256 only, never the key itself. */
@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  role!: ApiKeyRole;

  /** Hex SHA-256 of the whole key. */
  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash!: string;

  /** The key's first characters, enough to tell keys apart in a list. */
  @Column({ name: 'key_prefix', type: 'varchar', length: 16 })
  keyPrefix!: string;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
