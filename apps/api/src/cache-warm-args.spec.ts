import { WARM_ALL_DEFAULT, WARM_FILE_MAX } from '@app/links';
import { parseWarmArgs, UsageError } from './cache-warm-args';

const noFile = (): string => {
  throw new Error('no file expected');
};
const parse = (args: string[], file = '') => parseWarmArgs(args, () => file);

describe('parseWarmArgs', () => {
  it('reads --top with the default window, and --since', () => {
    expect(parseWarmArgs(['--top', '500'], noFile)).toMatchObject({
      selection: { kind: 'top', top: 500, sinceMs: 86_400_000 },
      l1: false,
      json: false,
    });
    expect(parse(['--top', '5', '--since', '7d', '--l1', '--json'])).toMatchObject({
      selection: { kind: 'top', top: 5, sinceMs: 7 * 86_400_000 },
      l1: true,
      json: true,
    });
    expect(parse(['--top', '5', '--since', '90m']).selection).toMatchObject({ sinceMs: 5_400_000 });
  });

  it('reads --all with the default and a given limit', () => {
    expect(parse(['--all']).selection).toEqual({ kind: 'all', limit: WARM_ALL_DEFAULT });
    expect(parse(['--all', '--limit', '20']).selection).toEqual({ kind: 'all', limit: 20 });
  });

  it('reads a codes file: blank lines counted, invalid lines reported, neither fatal', () => {
    const command = parse(['--codes', 'f.txt'], 'abc\n\n  promo-1 \nnot a code\nx/y\r\nzz\n');
    expect(command.selection).toEqual({ kind: 'codes', codes: ['abc', 'promo-1', 'zz'] });
    expect(command.blankLines).toBe(1);
    expect(command.rejectedCount).toBe(2);
    expect(command.rejectedLines).toEqual(['line 4: not a code', 'line 5: x/y']);
  });

  it.each([
    [[], /exactly one of/],
    [['--top', '5', '--all'], /exactly one of/],
    [['--top', '0'], /--top must be a whole number from 1 to 100000/],
    [['--top', '100001'], /--top must be/],
    [['--top', '1e3'], /--top must be/],
    [['--top', '5', '--since', '24'], /--since must be/],
    [['--top', '5', '--since', '367d'], /--since must be/],
    [['--all', '--since', '1d'], /--since goes only with --top/],
    [['--top', '5', '--limit', '3'], /--limit goes only with --all/],
    [['--all', '--limit', '1000001'], /--limit must be/],
    [['--top'], /argument missing|--top/],
    [['--nope'], /Unknown option/],
  ])('refuses %j', (args, message) => {
    expect(() => parse(args)).toThrow(UsageError);
    expect(() => parse(args)).toThrow(message);
  });

  it('refuses an empty codes file and one over the bound', () => {
    expect(() => parse(['--codes', 'f'], '\n\n')).toThrow(/no code/);
    const many = Array.from({ length: WARM_FILE_MAX + 1 }, (_, i) => `c${i}`).join('\n');
    expect(() => parse(['--codes', 'f'], many)).toThrow(/at most 100000/);
  });
});
