import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ERRORS } from './error-catalogue';

/**
 * The catalogue is the one list of error codes: these tests read the repository's sources and the
 * README, so a code raised, documented or expected anywhere else cannot drift from it.
 */

const ROOT = join(__dirname, '..', '..', '..');
const CATALOGUE = join(__dirname, 'error-catalogue.ts');
const codes = Object.keys(ERRORS);

/** Every .ts file under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const isSpec = (path: string): boolean => /\.(e2e-)?spec\.ts$/.test(path);
const code = '[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*';

/**
 * The codes a text names as error codes: raised (`new DomainError('X'`), expected by a test or
 * mapped (`code: 'X'`, `.code).toBe('X')`, `"code": "X"`), or listed in an OpenAPI response
 * description (`ApiProblem(400, 'X (...), Y: ...')`: the codes that start the description or
 * follow a comma).
 */
function codesNamedIn(text: string): string[] {
  const found: string[] = [];
  const direct = [
    new RegExp(`new DomainError\\(\\s*'(${code})'`, 'g'),
    new RegExp(`\\bcode: '(${code})'`, 'g'),
    new RegExp(`\\.code\\)\\.toBe\\('(${code})'\\)`, 'g'),
    new RegExp(`"code": "(${code})"`, 'g'),
  ];
  for (const pattern of direct) for (const match of text.matchAll(pattern)) found.push(match[1]!);
  const described =
    /\b(?:ApiProblem\(\s*\d+\s*,|ApiBodyProblems\(|problem\(|errorPageOrProblem\()\s*(['`])((?:(?!\1)[\s\S])*)\1/g;
  for (const [, , description = ''] of text.matchAll(described)) {
    for (const match of description.matchAll(new RegExp(`(?:^|, )(${code})\\b`, 'g'))) {
      found.push(match[1]!);
    }
  }
  return found;
}

describe('ERRORS', () => {
  it('gives every code a distinct problem type, an error status, a title and a "when"', () => {
    const types = new Set(codes.map((c) => c.toLowerCase().replace(/_/g, '-')));
    expect(types.size).toBe(codes.length);
    for (const [name, entry] of Object.entries(ERRORS)) {
      expect(name).toMatch(new RegExp(`^${code}$`));
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.status).toBeLessThan(600);
      expect(entry.title).toMatch(/^[A-Z]\S*( \S+)*$/);
      expect(entry.when.length).toBeGreaterThan(0);
    }
    const titles = codes.map((c) => ERRORS[c as keyof typeof ERRORS].title);
    expect(new Set(titles).size).toBe(titles.length);
  });

  it('lists the codes in the order of their status', () => {
    const statuses = Object.values(ERRORS).map((entry) => entry.status);
    expect(statuses).toEqual([...statuses].sort((a, b) => a - b));
  });

  it('holds every code the sources, the tests and the README name', () => {
    const files = [
      ...['apps', 'libs', 'test'].flatMap((dir) => sources(join(ROOT, dir))),
      join(ROOT, 'README.md'),
    ].filter((path) => path !== CATALOGUE && path !== __filename);
    const unknown: string[] = [];
    const named = new Set<string>();
    for (const file of files) {
      for (const name of codesNamedIn(readFileSync(file, 'utf8'))) {
        named.add(name);
        if (!(name in ERRORS)) unknown.push(`${relative(ROOT, file)}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
    // The scan still finds what it looks for (a pattern that no longer matches finds nothing).
    expect(named.size).toBeGreaterThan(codes.length / 2);
  });

  it('holds no code that nothing answers with', () => {
    const text = ['apps', 'libs']
      .flatMap((dir) => sources(join(ROOT, dir)))
      .filter((path) => path !== CATALOGUE && !isSpec(path))
      .map((path) => readFileSync(path, 'utf8'))
      .join('\n');
    expect(codes.filter((name) => !text.includes(`'${name}'`))).toEqual([]);
  });

  it('is the README error table, row for row', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
    const header = readme.findIndex((line) =>
      /^\|\s*code\s*\|\s*status\s*\|\s*title\s*\|\s*when\s*\|$/.test(line),
    );
    expect(header).toBeGreaterThanOrEqual(0);
    const rows: string[] = [];
    for (const line of readme.slice(header + 2)) {
      if (!line.startsWith('|')) break;
      rows.push(
        line
          .slice(1, -1)
          .split('|')
          .map((cell) => cell.trim())
          .join(' | '),
      );
    }
    const expected = Object.entries(ERRORS).map(
      ([name, { status, title, when }]) => `\`${name}\` | ${status} | ${title} | ${when}`,
    );
    // On a failure, the expected rows are the table to paste (then run `npm run format`).
    expect(rows.join('\n')).toBe(expected.join('\n'));
  });
});
