import { randomUUID } from 'node:crypto';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Link, LinksRepository, type PagePosition, type RedirectType } from '@app/links';

import { query } from '../support/database';
import { useTestingModule } from '../support/testing-module';

/**
 * LinksRepository on a real, migrated PostgreSQL, built by Nest with the DataSource the apps use:
 * ids from the sequence, the unique code index (deleted links included), the owner scope, partial
 * updates, soft deletes, keyset pages and the SQL that disables links by domain.
 */

const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);

/** The fields of a new link, `overrides` on top; id and code made unique from the sequence. */
async function newLink(
  repository: LinksRepository,
  overrides: Partial<{
    code: string;
    url: string;
    isCustom: boolean;
    redirectType: RedirectType;
    expiresAt: Date | null;
    ownerKeyId: string | null;
    maxClicks: number | null;
  }> = {},
) {
  const [id] = await repository.allocateIds(1);
  return {
    id: id!.toString(),
    code: `c${id!.toString(36)}`,
    url: `https://example.com/${id}`,
    isCustom: false,
    redirectType: 302 as RedirectType,
    expiresAt: null,
    ownerKeyId: null,
    maxClicks: null,
    ...overrides,
  };
}

describe('LinksRepository', () => {
  const suite = useTestingModule({
    imports: [TypeOrmModule.forFeature([Link])],
    providers: [LinksRepository],
  });
  let links: LinksRepository;

  /** An API key row, as a link's owner must be one. */
  const apiKey = async (): Promise<string> => {
    const id = randomUUID();
    await query(
      suite.db.url,
      `INSERT INTO api_keys (id, name, role, key_hash, key_prefix) VALUES ($1, 'test', 'user', $2, 'snip_x')`,
      [id, id.replace(/-/g, '').padEnd(64, '0')],
    );
    return id;
  };

  beforeAll(() => {
    links = suite.module.get(LinksRepository);
  });

  describe('allocateIds', () => {
    it('hands out distinct, increasing ids from the sequence, also to concurrent callers', async () => {
      const blocks = await Promise.all(Array.from({ length: 8 }, () => links.allocateIds(25)));
      for (const block of blocks) {
        expect(block).toHaveLength(25);
        expect([...block].sort((a, b) => (a < b ? -1 : 1))).toEqual(block);
      }
      const all = blocks.flat();
      expect(new Set(all).size).toBe(200);
      const [sequence] = await query<{ last: string }>(
        suite.db.url,
        'SELECT last_value::text AS last FROM link_id_seq',
      );
      expect(all.every((id) => id <= BigInt(sequence!.last))).toBe(true);
    });
  });

  describe('insert and findByCode', () => {
    it('stores every field and reads the link back from the primary', async () => {
      const owner = await apiKey();
      const fields = await newLink(links, {
        isCustom: true,
        redirectType: 308,
        expiresAt: at(60),
        ownerKeyId: owner,
        maxClicks: 250,
      });
      const inserted = await links.insert(fields, T0);
      expect(inserted).toMatchObject({ ...fields, disabled: false, deletedAt: null, clicks: 0 });

      const found = await links.findByCode(fields.code);
      expect(found).toEqual({
        ...fields,
        clicks: 0,
        disabled: false,
        createdAt: T0,
        updatedAt: T0,
        deletedAt: null,
      });
      expect(found?.redirectType).toBe(308);
      expect(await links.findByCode('no-such-code')).toBeNull();
    });

    it('throws CodeTakenError for a code in use, by a live or a deleted link', async () => {
      const live = await links.insert(await newLink(links), T0);
      await expect(
        links.insert(await newLink(links, { code: live.code }), T0),
      ).rejects.toMatchObject({ name: 'CodeTakenError', code: live.code });

      const gone = await links.insert(await newLink(links, { code: 'gone-alias' }), T0);
      expect(await links.markDeleted(gone.code, at(1))).toBe(true);
      await expect(
        links.insert(await newLink(links, { code: 'gone-alias' }), at(2)),
      ).rejects.toMatchObject({ name: 'CodeTakenError', code: 'gone-alias' });
    });

    it('passes other failures through as they are (a duplicate id is no taken code)', async () => {
      const first = await links.insert(await newLink(links), T0);
      const sameId = { ...(await newLink(links)), id: first.id };
      const error: unknown = await links.insert(sameId, T0).catch((e: unknown) => e);
      expect(error).toMatchObject({ driverError: { code: '23505', constraint: 'links_pkey' } });
      expect(error).not.toMatchObject({ name: 'CodeTakenError' });
    });

    it('finds a link for its owner only, when asked for an owner', async () => {
      const [alice, bob] = [await apiKey(), await apiKey()];
      const link = await links.insert(await newLink(links, { ownerKeyId: alice }), T0);
      expect((await links.findByCode(link.code, alice))?.id).toBe(link.id);
      expect(await links.findByCode(link.code, bob)).toBeNull();
      expect((await links.findByCode(link.code))?.id).toBe(link.id);
    });
  });

  describe('update', () => {
    it('changes only the fields given, clears with null, and stamps updatedAt', async () => {
      const link = await links.insert(await newLink(links, { expiresAt: at(90) }), T0);

      const disabled = await links.update(link.code, { disabled: true }, at(1));
      expect(disabled).toMatchObject({
        url: link.url,
        redirectType: 302,
        expiresAt: at(90),
        disabled: true,
        createdAt: T0,
        updatedAt: at(1),
      });

      const changed = await links.update(
        link.code,
        { url: 'https://example.com/moved', redirectType: 301, expiresAt: null, disabled: false },
        at(2),
      );
      expect(changed).toMatchObject({
        url: 'https://example.com/moved',
        redirectType: 301,
        expiresAt: null,
        disabled: false,
        updatedAt: at(2),
      });

      const expiring = await links.update(link.code, { expiresAt: at(30), url: undefined }, at(3));
      expect(expiring).toMatchObject({ url: 'https://example.com/moved', expiresAt: at(30) });
      expect(await links.findByCode(link.code)).toEqual(expiring);
    });

    it('returns null, changing nothing, for a missing, deleted or foreign link', async () => {
      const [alice, bob] = [await apiKey(), await apiKey()];
      const link = await links.insert(await newLink(links, { ownerKeyId: alice }), T0);

      expect(await links.update('missing', { disabled: true }, at(1))).toBeNull();
      expect(await links.update(link.code, { disabled: true }, at(1), bob)).toBeNull();
      expect(await links.findByCode(link.code)).toMatchObject({ disabled: false, updatedAt: T0 });
      expect(await links.update(link.code, { disabled: true }, at(1), alice)).toMatchObject({
        disabled: true,
      });

      expect(await links.markDeleted(link.code, at(2))).toBe(true);
      expect(await links.update(link.code, { disabled: false }, at(3))).toBeNull();
    });
  });

  describe('markDeleted', () => {
    it('deletes a live link once, for its owner only, and keeps the row', async () => {
      const [alice, bob] = [await apiKey(), await apiKey()];
      const link = await links.insert(await newLink(links, { ownerKeyId: alice }), T0);

      expect(await links.markDeleted(link.code, at(1), bob)).toBe(false);
      expect(await links.findByCode(link.code)).not.toBeNull();
      expect(await links.markDeleted(link.code, at(1), alice)).toBe(true);
      expect(await links.markDeleted(link.code, at(2))).toBe(false);
      expect(await links.findByCode(link.code)).toBeNull();

      const [row] = await query<{ deleted_at: Date; updated_at: Date }>(
        suite.db.url,
        'SELECT deleted_at, updated_at FROM links WHERE code = $1',
        [link.code],
      );
      expect(row).toEqual({ deleted_at: at(1), updated_at: at(1) });
    });
  });

  describe('list', () => {
    it('pages newest first by (createdAt, id), strictly after the position, without deleted links', async () => {
      const owner = await apiKey();
      // Two links share each creation time: the id breaks the tie.
      const created: Link[] = [];
      for (let i = 0; i < 7; i++) {
        created.push(
          await links.insert(
            await newLink(links, { ownerKeyId: owner }),
            at(10 + Math.floor(i / 2)),
          ),
        );
      }
      const deleted = created[3]!;
      await links.markDeleted(deleted.code, at(20));
      const expected = created
        .filter((link) => link !== deleted)
        .sort(
          (a, b) =>
            b.createdAt.getTime() - a.createdAt.getTime() || (BigInt(b.id) > BigInt(a.id) ? 1 : -1),
        )
        .map((link) => link.code);

      const pages: string[][] = [];
      let after: PagePosition | undefined;
      for (;;) {
        const page = await links.list('-createdAt', 4, after, owner);
        if (page.length === 0) break;
        pages.push(page.map((link) => link.code));
        const last = page[page.length - 1]!;
        after = { by: 'createdAt', createdAt: last.createdAt, id: last.id };
      }
      expect(pages.map((page) => page.length)).toEqual([4, 2]);
      expect(pages.flat()).toEqual(expected);
    });

    it('lists every owner’s links without an owner, and none of them for another owner', async () => {
      const [alice, bob] = [await apiKey(), await apiKey()];
      const mine = await links.insert(await newLink(links, { ownerKeyId: alice }), at(100));
      const theirs = await links.insert(await newLink(links, { ownerKeyId: null }), at(101));
      const all = (await links.list('-createdAt', 2)).map((link) => link.code);
      expect(all).toEqual([theirs.code, mine.code]);
      expect((await links.list('-createdAt', 10, undefined, bob)).map((l) => l.code)).toEqual([]);
    });

    it.each(['-clicks', 'clicks'] as const)(
      'pages by %s with ties broken by id, each link once, with its stored count',
      async (sort) => {
        const owner = await apiKey();
        // Eight links, two to a count (ties), one of them deleted.
        const counts = [5, 0, 3, 5, 0, 3, 9, 9];
        const created: Link[] = [];
        for (const clicks of counts) {
          const link = await links.insert(await newLink(links, { ownerKeyId: owner }), T0);
          await query(suite.db.url, 'UPDATE link_click_totals SET clicks = $2 WHERE link_id = $1', [
            link.id,
            clicks,
          ]);
          created.push({ ...link, clicks });
        }
        const deleted = created[2]!;
        await links.markDeleted(deleted.code, at(1));
        const sign = sort === '-clicks' ? -1 : 1;
        const expected = created
          .filter((link) => link !== deleted)
          .sort((a, b) => sign * (a.clicks - b.clicks || (BigInt(a.id) > BigInt(b.id) ? 1 : -1)))
          .map((link) => [link.code, link.clicks]);

        const seen: [string, number][] = [];
        let after: PagePosition | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await links.list(sort, 3, after, owner);
          if (page.length === 0) break;
          seen.push(...page.map((link): [string, number] => [link.code, link.clicks]));
          const last = page[page.length - 1]!;
          after = { by: 'clicks', clicks: last.clicks, id: last.id };
        }
        expect(seen).toEqual(expected);
      },
    );
  });

  describe('storedClicks', () => {
    it("reads a link's written-behind total: 0 for a new link, and for no link at all", async () => {
      const link = await links.insert(await newLink(links), T0);
      expect(await links.storedClicks(link.id)).toBe(0);
      await query(suite.db.url, 'UPDATE link_click_totals SET clicks = 41 WHERE link_id = $1', [
        link.id,
      ]);
      expect(await links.storedClicks(link.id)).toBe(41);
      expect((await links.findByCode(link.code))?.clicks).toBe(41);
      expect(await links.storedClicks('999999999')).toBe(0);
    });

    it('refuses a cap that is not positive', async () => {
      await expect(links.insert(await newLink(links, { maxClicks: 0 }), T0)).rejects.toThrow(
        /links_max_clicks_check/,
      );
    });
  });

  describe('disableByDomains', () => {
    it('disables the live, enabled links whose host is a domain or under one, and returns them', async () => {
      const make = (url: string) => newLink(links, { url }).then((f) => links.insert(f, T0));
      const hits = [
        await make('https://blocked.example/a'),
        await make('http://www.blocked.example:8080/b?c=d'),
        await make('https://deep.sub.blocked.example./'),
        await make('https://other.test#x'),
      ];
      const misses = [
        await make('https://notblocked.example/'),
        await make('https://blocked.example.com/'),
        await make('https://safe.example/?u=https://blocked.example/'),
      ];
      const alreadyDisabled = await make('https://blocked.example/off');
      await links.update(alreadyDisabled.code, { disabled: true }, at(1));
      const deleted = await make('https://blocked.example/deleted');
      await links.markDeleted(deleted.code, at(1));

      const disabled = await links.disableByDomains(['blocked.example', 'other.test'], at(5), 100);
      expect(disabled.map((target) => target.code).sort()).toEqual(
        hits.map((link) => link.code).sort(),
      );
      for (const target of disabled) {
        const link = hits.find((l) => l.code === target.code)!;
        expect(target).toEqual({
          id: link.id,
          code: link.code,
          url: link.url,
          redirectType: 302,
          expiresAt: null,
          disabled: true,
          updatedAt: at(5),
          maxClicks: null,
        });
      }
      for (const link of misses) {
        expect(await links.findByCode(link.code)).toMatchObject({ disabled: false });
      }
      expect(await links.findByCode(alreadyDisabled.code)).toMatchObject({ updatedAt: at(1) });
      expect(await links.disableByDomains(['blocked.example'], at(6), 100)).toEqual([]);
      expect(await links.disableByDomains([], at(6), 100)).toEqual([]);
    });

    it('disables at most `limit` links a call', async () => {
      const domain = `many-${Date.now().toString(36)}.example`;
      for (let i = 0; i < 5; i++) {
        await links.insert(await newLink(links, { url: `https://${domain}/${i}` }), T0);
      }
      const sizes: number[] = [];
      for (;;) {
        const batch = await links.disableByDomains([domain], at(1), 2);
        if (batch.length === 0) break;
        sizes.push(batch.length);
      }
      expect(sizes).toEqual([2, 2, 1]);
    });
  });
});

describe('LinksRepository with a read replica', () => {
  const suite = useTestingModule(
    { imports: [TypeOrmModule.forFeature([Link])], providers: [LinksRepository] },
    { replicas: 1 },
  );

  it('lists from the replica, but finds a link by code on the primary', async () => {
    const links = suite.module.get(LinksRepository);
    const [id] = await links.allocateIds(1);
    const link = await links.insert(
      {
        id: id!.toString(),
        code: 'on-primary',
        url: 'https://example.com/p',
        isCustom: true,
        redirectType: 302,
        expiresAt: null,
        ownerKeyId: null,
        maxClicks: null,
      },
      T0,
    );
    // The stand-in replica is a database of its own that never receives the primary's writes:
    // what a replica lagging behind looks like.
    expect(await links.list('-createdAt', 10)).toEqual([]);
    expect((await links.findByCode('on-primary'))?.id).toBe(link.id);
    await query(
      suite.replicas[0]!.url,
      `INSERT INTO links (id, code, url, created_at, updated_at) VALUES (1, 'on-replica', 'https://example.com/r', now(), now())`,
    );
    expect((await links.list('-createdAt', 10)).map((l) => l.code)).toEqual(['on-replica']);
    expect(await links.findByCode('on-replica')).toBeNull();
  });
});
