import { Column, Entity, PrimaryColumn, VirtualColumn } from 'typeorm';

export const REDIRECT_TYPES = [301, 302, 307, 308] as const;
export type RedirectType = (typeof REDIRECT_TYPES)[number];

@Entity('links')
export class Link {
  /** From `link_id_seq`; bigint, kept as a string as `pg` returns it. */
  @PrimaryColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  code!: string;

  @Column({ type: 'text' })
  url!: string;

  /** True when the code is an alias the client chose. */
  @Column({ name: 'is_custom', type: 'boolean', default: false })
  isCustom!: boolean;

  @Column({ name: 'redirect_type', type: 'smallint', default: 302 })
  redirectType!: RedirectType;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  /** The API key that created the link; null when created without one. */
  @Column({ name: 'owner_key_id', type: 'uuid', nullable: true })
  ownerKeyId!: string | null;

  /** Redirects the link answers at most, then 410 LINK_EXHAUSTED; null for no cap. */
  @Column({ name: 'max_clicks', type: 'integer', nullable: true })
  maxClicks!: number | null;

  /**
   * Clicks stored so far (bots included), written behind by the click pipeline in batches
   * (`link_click_totals`); read with the link, never written through it.
   */
  @VirtualColumn({
    type: 'bigint',
    query: (alias) => `SELECT "clicks" FROM "link_click_totals" WHERE "link_id" = ${alias}."id"`,
    transformer: {
      from: (value: string | null) => Number(value ?? 0),
      to: (value: number) => value,
    },
  })
  clicks!: number;

  /** Set on delete; the row stays so that its code is never handed out again. */
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;
}

export type LinkState = 'active' | 'disabled' | 'expired';

/** Whether a (not deleted) link redirects at `now`. */
export function linkState(link: Pick<Link, 'disabled' | 'expiresAt'>, now: Date): LinkState {
  if (link.disabled) return 'disabled';
  if (link.expiresAt !== null && link.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}
