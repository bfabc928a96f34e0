import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';

const DAY_MS = 86_400_000;

/**
 * Days a salt is kept after its own: a click may arrive this late and still find its day's salt.
 * On day D the salts of D-2, D-1, D (and any later day) exist; older ones are deleted.
 */
export const SALT_WINDOW_DAYS = 2;

const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The salt of each UTC day that visitor ids are keyed with (visitors.ts): 32 random bytes in
 * `visitor_salts`, created by whichever worker needs it first (INSERT ... ON CONFLICT DO NOTHING,
 * then SELECT, so every worker reads the one that won) and cached here per day. Once a day, the
 * first lookup deletes the salts older than the window, here and in the table, so a past day's
 * ids can never be recomputed from stored data. A click of such a day (later than the window) gets
 * a random salt of this process, never stored: it counts as a new visitor of its day (decision
 * 51).
 */
@Injectable()
export class VisitorSaltsRepository {
  private readonly salts = new Map<string, Promise<Buffer>>();
  /** The UTC day whose expired salts were last deleted. */
  private prunedOn: string | undefined;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The salts of `days` (YYYY-MM-DD, UTC), by day, as of `now`. */
  async saltsFor(days: Iterable<string>, now = new Date()): Promise<Map<string, Buffer>> {
    const today = utcDay(now.getTime());
    const oldest = utcDay(Date.parse(`${today}T00:00:00Z`) - SALT_WINDOW_DAYS * DAY_MS);
    if (this.prunedOn !== today) {
      await this.dataSource.query(`DELETE FROM "visitor_salts" WHERE "day" < $1::date`, [oldest]);
      for (const day of this.salts.keys()) if (day < oldest) this.salts.delete(day);
      this.prunedOn = today;
    }
    const unique = [...new Set(days)];
    const salts = await Promise.all(unique.map((day) => this.saltOf(day, day < oldest)));
    return new Map(unique.map((day, i) => [day, salts[i]!]));
  }

  private saltOf(day: string, expired: boolean): Promise<Buffer> {
    let salt = this.salts.get(day);
    if (!salt) {
      salt = expired
        ? Promise.resolve(randomBytes(32))
        : this.load(day).catch((error: unknown) => {
            // Forgotten, so that the next batch tries again.
            this.salts.delete(day);
            throw error;
          });
      this.salts.set(day, salt);
    }
    return salt;
  }

  private async load(day: string): Promise<Buffer> {
    await this.dataSource.query(
      `INSERT INTO "visitor_salts" ("day", "salt") VALUES ($1::date, $2) ON CONFLICT DO NOTHING`,
      [day, randomBytes(32)],
    );
    const rows: { salt: Buffer }[] = await this.dataSource.query(
      `SELECT "salt" FROM "visitor_salts" WHERE "day" = $1::date`,
      [day],
    );
    const salt = rows[0]?.salt;
    // Deleted meanwhile by a worker whose clock is a day ahead: the day is past the window.
    return salt ?? randomBytes(32);
  }
}
