import { UsageError } from './cache-warm-args';
import { parsePruneArgs, PRUNE_DAYS_MAX } from './clicks-prune-args';

describe('parsePruneArgs', () => {
  it('reads --days, --dry-run and --json, and defaults to the configured days', () => {
    expect(parsePruneArgs([])).toEqual({ days: undefined, dryRun: false, json: false });
    expect(parsePruneArgs(['--days', '90'])).toEqual({ days: 90, dryRun: false, json: false });
    expect(parsePruneArgs(['--days=1', '--dry-run', '--json'])).toEqual({
      days: 1,
      dryRun: true,
      json: true,
    });
    expect(parsePruneArgs(['--days', String(PRUNE_DAYS_MAX)]).days).toBe(PRUNE_DAYS_MAX);
  });

  it.each([
    [['--days', '0'], '--days must be a whole number from 1 to 36500, not "0"'],
    [['--days=-3'], '--days must be a whole number from 1 to 36500, not "-3"'],
    [['--days', '1.5'], '--days must be a whole number from 1 to 36500, not "1.5"'],
    [['--days', '7d'], '--days must be a whole number from 1 to 36500, not "7d"'],
    [['--days', '36501'], '--days must be a whole number from 1 to 36500, not "36501"'],
    [['--days'], "Option '--days <value>' argument missing"],
    [['--force'], "Unknown option '--force'"],
    [['30'], "Unexpected argument '30'"],
    [['--dry-run=yes'], "Option '--dry-run' does not take an argument"],
  ])('refuses %j', (args, message) => {
    expect(() => parsePruneArgs(args)).toThrow(UsageError);
    expect(() => parsePruneArgs(args)).toThrow(message);
  });
});
