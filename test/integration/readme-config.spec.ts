import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configKeys } from '@app/config';

/**
 * The README's configuration reference against the schema it documents: every key the schema
 * reads is in a table, every key in a table is read, each default is the schema's, and each
 * profile value the table names is what that profile's file sets. So the table cannot drift.
 */

interface Row {
  readonly key: string;
  readonly defaultCell: string;
  /** The text between the previous table and this row's table, which names the classes. */
  readonly caption: string;
}

const ROOT = resolve(__dirname, '../..');

function referenceRows(): Row[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### Configuration reference');
  const end = readme.indexOf('\n## ', start);
  expect({ start: start >= 0, end: end > start }).toEqual({ start: true, end: true });
  let caption = '';
  let inTable = false;
  const rows: Row[] = [];
  for (const line of readme.slice(start, end).split('\n')) {
    if (!line.startsWith('|')) {
      if (inTable) caption = '';
      inTable = false;
      caption += `${line}\n`;
      continue;
    }
    inTable = true;
    if (!line.startsWith('| `')) continue;
    const [key = '', defaultCell = ''] = line
      .split('|')
      .slice(1, 3)
      .map((c) => c.trim());
    rows.push({ key: key.replace(/`/g, ''), defaultCell, caption });
  }
  return rows;
}

/** KEY=value lines of config/<profile>.env. */
function profileFile(profile: string): Map<string, string> {
  const text = readFileSync(join(ROOT, 'config', `${profile}.env`), 'utf8');
  const entries = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && line.includes('='))
    .map((line): [string, string] => [
      line.slice(0, line.indexOf('=')),
      line.slice(line.indexOf('=') + 1),
    ]);
  return new Map(entries);
}

function shown(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

describe('the README configuration reference', () => {
  const rows = referenceRows();
  const declared = configKeys();
  const keys = declared.map((key) => key.env);
  // Each key's own default: what applies when no profile file and no environment sets it.
  const defaults: Record<string, unknown> = Object.fromEntries(
    declared.map((key) => [key.env, key.schema.safeParse(undefined).data]),
  );

  it('lists exactly the keys the schema reads, once each', () => {
    expect(rows.map((row) => row.key).sort()).toEqual([...keys].sort());
  });

  it('lists each key under a caption that names its namespace class', () => {
    const wrong = declared.flatMap(({ env, className }) => {
      const row = rows.find((r) => r.key === env);
      return !row || row.caption.includes(`\`${className}\``)
        ? []
        : [`${env}: not under ${className}`];
    });
    expect(wrong).toEqual([]);
  });

  it("gives each key the schema's default, or says it has none", () => {
    const wrong = rows.flatMap(({ key, defaultCell }) => {
      if (key === 'SNIP_PROFILE') return [];
      const literal = /^`([^`]*)`/.exec(defaultCell)?.[1];
      const actual = shown(defaults[key]);
      // A default that names another key or derives from one (`REDIS_URL`, `...$PORT`) is
      // applied after parsing; so is a cell in words ("(none)", "generated (not in prod)").
      const derived =
        literal === undefined || literal.includes('$') || keys.includes(literal ?? '');
      const expected = derived ? [undefined, ''] : [literal];
      return expected.includes(actual)
        ? []
        : [`${key}: README says ${defaultCell}, schema ${actual}`];
    });
    expect(wrong).toEqual([]);
  });

  it('names profile values that the profile files set', () => {
    const files = new Map(
      ['local', 'development', 'test', 'production'].map((p) => [p, profileFile(p)]),
    );
    const wrong = rows.flatMap(({ key, defaultCell }) => {
      const note = /\(([^)]*: `[^`]*`[^)]*)\)/.exec(defaultCell)?.[1];
      if (!note) return [];
      return [...note.matchAll(/((?:[a-z]+(?:, )?)+): `([^`]*)`/g)].flatMap((m) =>
        m[1]!.split(', ').flatMap((profile) => {
          const set = files.get(profile)?.get(key);
          return set === m[2] ? [] : [`${key}: README says ${profile} sets ${m[2]}, file ${set}`];
        }),
      );
    });
    expect(wrong).toEqual([]);
  });
});
