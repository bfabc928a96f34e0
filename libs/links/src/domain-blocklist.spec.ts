import { DomainBlocklist, normalizeDomain, parseBlocklist } from './domain-blocklist';

describe('normalizeDomain', () => {
  it.each([
    ['example.com', 'example.com'],
    ['  Example.COM.  ', 'example.com'],
    ['*.example.com', 'example.com'],
    ['.example.com', 'example.com'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['2130706433', '127.0.0.1'],
    ['[::1]', '[::1]'],
  ])('reads %j as %s', (entry, domain) => {
    expect(normalizeDomain(entry)).toBe(domain);
  });

  it.each([
    '',
    'example.com:8080',
    'https://example.com',
    'example.com/path',
    'a b.com',
    'u@x.com',
  ])('refuses %j', (entry) => {
    expect(normalizeDomain(entry)).toBeNull();
  });
});

describe('parseBlocklist', () => {
  it('reads one domain a line, skipping comments and blank lines', () => {
    const text = [
      '# phishing, reported 2026-11-30',
      'bad.example',
      '',
      '   Evil.Example.   # trailing comment',
      'not a domain',
      '\r',
    ].join('\r\n');
    expect(parseBlocklist(text)).toEqual({
      domains: ['bad.example', 'evil.example'],
      invalid: ['not a domain'],
    });
  });
});

describe('DomainBlocklist.match', () => {
  const list = new DomainBlocklist({ domains: ['bad.example', 'co.uk.example', '10.0.0.1'] });

  it('matches a domain and every subdomain, not its neighbours', () => {
    expect(list.match('bad.example')).toBe('bad.example');
    expect(list.match('a.b.bad.example.')).toBe('bad.example');
    expect(list.match('BAD.EXAMPLE')).toBe('bad.example');
    expect(list.match('notbad.example')).toBeNull();
    expect(list.match('bad.example.org')).toBeNull();
    expect(list.match('example')).toBeNull();
  });

  it('matches addresses exactly', () => {
    expect(list.match('10.0.0.1')).toBe('10.0.0.1');
    expect(list.match('110.0.0.1')).toBeNull();
  });

  it('lists the domains sorted', () => {
    expect(list.domains).toEqual(['10.0.0.1', 'bad.example', 'co.uk.example']);
  });
});
