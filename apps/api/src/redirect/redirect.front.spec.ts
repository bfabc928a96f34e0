import { codeEnd } from './redirect.front';

describe('codeEnd', () => {
  const code63 = `${'Ab9_-'.repeat(12)}Xyz`;
  const code64 = `${code63}_`;
  const code65 = `${code63}_Q`;

  it('has codes of the lengths the table below relies on', () => {
    expect(code63).toHaveLength(63);
    expect(code64).toHaveLength(64);
    expect(code65).toHaveLength(65);
  });

  it.each<[string, number]>([
    ['/abc', 4],
    ['/abc?x=1', 4],
    ['/a', 2],
    ['/abc?', 4],
    ['/A-z_09', 7],
    ['/abc?x=1?y=/2', 4],
    [`/${code63}`, 64],
    [`/${code63}?utm_source=mail`, 64],
    [`/${code64}`, 65],
    [`/${code64}?utm_source=mail`, 65],
    ['/', -1],
    ['', -1],
    ['/?x=1', -1],
    ['/abc/', -1],
    ['/abc/def', -1],
    ['//abc', -1],
    ['/%41bc', -1],
    ['/abc%20', -1],
    ['/ab.c', -1],
    [`/${code65}`, -1],
    [`/${code65}?x=1`, -1],
    ['/abc#x', -1],
    ['/é', -1],
    ['/abé', -1],
    ['abc', -1],
    ['*', -1],
    ['http://example.com/abc', -1],
  ])('codeEnd(%j) is %i', (url, end) => {
    expect(codeEnd(url)).toBe(end);
  });
});
