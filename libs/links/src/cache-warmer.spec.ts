import { parseSince } from './cache-warmer';

describe('parseSince', () => {
  it.each([
    ['1m', 60_000],
    ['90m', 5_400_000],
    ['24h', 86_400_000],
    ['366d', 366 * 86_400_000],
  ])('reads %s', (text, ms) => expect(parseSince(text)).toBe(ms));

  it.each(['', '0h', '24', 'h', '1w', '-1d', '1.5h', '367d', ' 1h', '01h'])('refuses %j', (text) =>
    expect(parseSince(text)).toBeUndefined(),
  );
});
