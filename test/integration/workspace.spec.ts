import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseConfigFileTextToJson } from 'typescript';

/**
 * Each lib is declared in five places besides its folder: the TypeScript paths, swc's paths (the
 * build), Jest's module map, the Nest CLI's projects, and the layout in docs/architecture.md and
 * the README. A lib added or renamed in one and not the others builds in one tool and fails in
 * another; this suite names the place that was missed.
 */

const ROOT = resolve(__dirname, '../..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** JSON with comments and trailing commas, the way TypeScript reads tsconfig.json. */
function readJsonc(file: string): Record<string, unknown> {
  const parsed = parseConfigFileTextToJson(file, read(file)) as {
    config?: Record<string, unknown>;
    error?: unknown;
  };
  if (parsed.error || !parsed.config) throw new Error(`${file} is not valid JSON with comments`);
  return parsed.config;
}

const libs = readdirSync(join(ROOT, 'libs'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

const aliases = (paths: Record<string, string[]>): Record<string, string[]> =>
  Object.fromEntries(Object.entries(paths).filter(([alias]) => alias.startsWith('@app/')));

const expectedAliases = Object.fromEntries(libs.map((lib) => [`@app/${lib}`, [`libs/${lib}/src`]]));

describe('the libs', () => {
  it('are found', () => {
    expect(libs.length).toBeGreaterThan(5);
  });

  it.each(libs)('%s has one public file, src/index.ts', (lib) => {
    expect(existsSync(join(ROOT, 'libs', lib, 'src', 'index.ts'))).toBe(true);
  });

  it('are exactly the @app/* paths of tsconfig.json', () => {
    const options = readJsonc('tsconfig.json').compilerOptions as {
      paths: Record<string, string[]>;
    };
    expect(aliases(options.paths)).toEqual(expectedAliases);
  });

  it('are exactly the @app/* paths of .swcrc, which the build uses', () => {
    const jsc = readJsonc('.swcrc').jsc as { paths: Record<string, string[]> };
    expect(aliases(jsc.paths)).toEqual(expectedAliases);
  });

  it("are exactly what Jest's module map resolves", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const jest = require(join(ROOT, 'jest.config.js')) as {
      projects: { displayName: string; moduleNameMapper: Record<string, string> }[];
    };
    for (const project of jest.projects) {
      const map = Object.entries(project.moduleNameMapper);
      const resolved = (specifier: string): string | undefined => {
        const hit = map.find(([pattern]) => new RegExp(pattern).test(specifier));
        return hit && specifier.replace(new RegExp(hit[0]), hit[1]);
      };
      for (const lib of libs) {
        expect([project.displayName, resolved(`@app/${lib}`)]).toEqual([
          project.displayName,
          `<rootDir>/libs/${lib}/src`,
        ]);
      }
      expect(resolved('@app/no-such-lib')).toBeUndefined();
    }
  });

  it('are exactly the library projects of nest-cli.json', () => {
    const projects = readJsonc('nest-cli.json').projects as Record<
      string,
      { type: string; root: string }
    >;
    const declared = Object.entries(projects)
      .filter(([, project]) => project.type === 'library')
      .map(([name, project]) => [name, project.root]);
    expect(declared.sort()).toEqual(libs.map((lib) => [lib, `libs/${lib}`]));
  });

  it("are each in docs/architecture.md's layout, with what they export", () => {
    const layout = read('docs/architecture.md');
    const listed = [...layout.matchAll(/^ {2}([a-z-]+)\/ {2,}/gm)].map((match) => match[1]);
    for (const lib of libs) expect(listed).toContain(lib);
  });

  it("are exactly the README's list of libs", () => {
    const readme = read('README.md');
    const sentence = /Shared code lives in\s+`libs\/` \(([^;]+);/.exec(readme);
    expect(sentence).not.toBeNull();
    const listed = [...(sentence?.[1] ?? '').matchAll(/`([a-z-]+)`/g)].map((match) => match[1]);
    expect([...listed].sort()).toEqual(libs);
  });
});
