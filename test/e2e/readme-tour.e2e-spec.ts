import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../support/eventually';
import { ROOT, spawnApi, type SpawnedApi } from '../support/process';

jest.setTimeout(90_000);

/** The `sh` blocks of the README from the tour's heading to the stats example, in order. */
function tourBlocks(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## A short API tour');
  const end = readme.indexOf('How events travel is `CLICKS_TRANSPORT`');
  expect({ start: start >= 0, end: end > start }).toEqual({ start: true, end: true });
  return [...readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/**
 * The README's API tour, run as written against the quick-start profile: every command works in
 * the order shown (the link is followed before anything is deleted) and the stats it shows last
 * count the visit the tour made.
 */
describe('the README API tour', () => {
  let api: SpawnedApi | undefined;
  afterAll(async () => {
    await api?.stop();
  });

  it('runs in order on the local profile and ends with the visit in the stats', async () => {
    api = await spawnApi({ env: { SNIP_PROFILE: 'local', SHORT_CODE_SECRET: '' } });
    const host = new URL(api.url).host;
    let code = 'YlzGPMj';
    const run = (block: string): string =>
      execFileSync(
        'bash',
        ['--norc', '--noprofile', '-euo', 'pipefail', '-c', block.replaceAll('YlzGPMj', code)],
        {
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '' },
        },
      ).replaceAll(host, 'localhost:3000');
    const blocks = tourBlocks().map((block) => block.replaceAll('localhost:3000', host));
    const outputs: string[] = [];
    for (const block of blocks) {
      const output = run(block);
      outputs.push(output);
      if (outputs.length === 1) code = (JSON.parse(output) as { code: string }).code;
    }
    const find = (pattern: RegExp): string => {
      const output = outputs.find((o) => pattern.test(o));
      expect({ pattern: pattern.source, found: output !== undefined }).toEqual({
        pattern: pattern.source,
        found: true,
      });
      return output!;
    };
    expect(find(/"alias":"docs-home"/)).toContain('"redirectType":301');
    expect(find(/"redirectType":307/)).toContain(`"code":"${code}"`);
    const followed = find(/^HTTP\/1\.1 /);
    expect(followed).toMatch(/^HTTP\/1\.1 307/);
    expect(followed).toMatch(
      /location: https:\/\/example\.com\/spring-sale\?utm_source=news&utm_campaign=spring/i,
    );
    expect(outputs).toContain('204\n');
    expect(find(/VALIDATION_FAILED/)).toContain('"field":"extra"');

    // The last block is the stats of the link the tour followed; clicks land within a moment.
    const stats = blocks.at(-1)!;
    expect(stats).toContain('/stats');
    const body = await eventually(
      () => JSON.parse(run(stats)) as { totals: { clicks: number }; referrers: unknown },
      (value) => value.totals.clicks >= 1,
      { what: 'the visit in the stats' },
    );
    expect(body.totals.clicks).toBe(1);
    expect(body.referrers).toEqual([{ value: 'news.example.org', clicks: 1 }]);
  });
});
