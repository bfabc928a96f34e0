import { mergeQuery } from './redirect.service';

describe('mergeQuery', () => {
  it.each([
    [
      'adds a query to a target without one',
      'https://e.com/p',
      'a=1&b=2',
      'https://e.com/p?a=1&b=2',
    ],
    [
      'appends to the target query',
      'https://e.com/p?x=1',
      'utm_source=mail',
      'https://e.com/p?x=1&utm_source=mail',
    ],
    [
      'keeps the target fragment after the query',
      'https://e.com/p#section',
      'a=1',
      'https://e.com/p?a=1#section',
    ],
    [
      'keeps the target fragment with a target query',
      'https://e.com/p?x=1#section',
      'a=1',
      'https://e.com/p?x=1&a=1#section',
    ],
    [
      'leaves percent-encoding of the request as it came',
      'https://e.com/',
      'q=a%20b&r=%C3%BC',
      'https://e.com/?q=a%20b&r=%C3%BC',
    ],
    [
      'leaves the target query byte for byte when no key repeats',
      'https://e.com/?x=a%20b&y=c+d',
      'z=1',
      'https://e.com/?x=a%20b&y=c+d&z=1',
    ],
    ['keeps a value-less parameter', 'https://e.com/', 'flag', 'https://e.com/?flag'],
  ])('%s', (_, target, query, expected) => {
    expect(mergeQuery(target, query)).toBe(expected);
  });

  it('lets a parameter the request repeats replace the target value', () => {
    const merged = new URL(mergeQuery('https://e.com/p?utm_source=site&x=1', 'utm_source=mail'));
    expect(merged.searchParams.getAll('utm_source')).toEqual(['mail']);
    expect(merged.searchParams.get('x')).toBe('1');
    expect(merged.pathname).toBe('/p');
  });

  it('replaces every target value of a repeated key with every request value', () => {
    const merged = new URL(mergeQuery('https://e.com/?tag=a&tag=b&keep=1', 'tag=c&tag=d&new=2'));
    expect(merged.searchParams.getAll('tag')).toEqual(['c', 'd']);
    expect(merged.searchParams.get('keep')).toBe('1');
    expect(merged.searchParams.get('new')).toBe('2');
  });

  it('never changes the target origin or path', () => {
    const merged = new URL(mergeQuery('https://e.com/a/b', 'next=https%3A%2F%2Fevil.example%2F'));
    expect(merged.origin).toBe('https://e.com');
    expect(merged.pathname).toBe('/a/b');
    expect(merged.searchParams.get('next')).toBe('https://evil.example/');
  });
});
