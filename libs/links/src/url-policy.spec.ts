import { DomainError } from '@app/observability';
import { UrlPolicy } from './url-policy';

const policy = new UrlPolicy({ maxLength: 64, selfOrigins: ['https://sn.ip'] });

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the URL to be refused');
}

function expectRefused(input: string, detail: RegExp, on: UrlPolicy = policy): void {
  const error = refusal(() => on.normalize(input));
  expect(error.status).toBe(400);
  expect(error.code).toBe('URL_NOT_ALLOWED');
  expect(error.detail).toMatch(detail);
}

describe('UrlPolicy', () => {
  it.each([
    ['https://example.com/a?b=c#d', 'https://example.com/a?b=c#d'],
    ['http://example.com', 'http://example.com/'],
    ['HTTPS://EXAMPLE.com/Path', 'https://example.com/Path'],
    ['https://example.com:443/x', 'https://example.com/x'],
    ['https://example.com:8443/x', 'https://example.com:8443/x'],
    ['https://example.com/a%20b', 'https://example.com/a%20b'],
  ])('accepts %s as %s', (input, stored) => {
    expect(policy.normalize(input)).toBe(stored);
  });

  it.each([
    'ftp://example.com/file',
    'javascript:alert(1)',
    'data:text/html,hi',
    'mailto:someone@example.com',
    'file:///etc/passwd',
    'ws://example.com/',
    'http:/example.com',
    'http:\\\\example.com',
  ])('refuses the non-http(s) URL %s', (input) => {
    expectRefused(input, /Only absolute http/);
  });

  it.each(['/relative/path', 'example.com/x', '//example.com/x', '?q=1', '#top'])(
    'refuses the relative URL %s',
    (input) => {
      expectRefused(input, /Only absolute http/);
    },
  );

  it('refuses an empty URL and one without a host', () => {
    expectRefused('', /empty/);
    expectRefused('http://', /cannot be parsed|no host/);
    expectRefused('https://exa mple', /whitespace/);
  });

  it('accepts exactly the maximum length and refuses one more character', () => {
    const base = 'https://example.com/';
    const exact = base + 'a'.repeat(64 - base.length);
    expect(policy.normalize(exact)).toBe(exact);
    expectRefused(`${exact}a`, /longer than 64 characters\.$/);
  });

  it('measures the length again after normalisation', () => {
    // 64 characters as sent, 65 once the missing "/" path is added.
    const host = `${'a'.repeat(64 - 'https://'.length - '.io'.length)}.io`;
    const input = `https://${host}`;
    expect(input).toHaveLength(64);
    expectRefused(input, /once normalised/);
    // An IDN host grows when converted to punycode, a non-ASCII path when percent-encoded.
    const idn = `https://${'日本語'.repeat(4)}.jp/${'x'.repeat(27)}`;
    expect(idn.length).toBeLessThanOrEqual(64);
    expectRefused(idn, /once normalised/);
    const path = `https://example.com/${'ü'.repeat(10)}`;
    expect(path.length).toBeLessThanOrEqual(64);
    expectRefused(path, /once normalised/);
  });

  it.each([
    ['a space', 'https://example.com/a b'],
    ['a leading space', ' https://example.com/'],
    ['a trailing newline', 'https://example.com/\n'],
    ['a tab', 'https://example.com/\tx'],
    ['a NUL', 'https://example.com/\u0000'],
    ['a DEL', 'https://example.com/\u007f'],
    ['a C1 control', 'https://example.com/\u0085'],
    ['a no-break space', 'https://example.com/\u00a0'],
    ['a zero-width space', 'https://exam\u200bple.com/'],
    ['a right-to-left override', 'https://example.com/\u202e'],
    ['a line separator', 'https://example.com/\u2028'],
  ])('refuses a URL with %s', (_, input) => {
    expectRefused(input, /whitespace or control/);
  });

  it('stores IDN hosts as punycode', () => {
    expect(policy.normalize('https://bücher.example/straße')).toBe(
      'https://xn--bcher-kva.example/stra%C3%9Fe',
    );
    expect(policy.normalize('http://例え.jp/')).toBe('http://xn--r8jz45g.jp/');
  });

  it.each([
    'https://user:secret@example.com/',
    'https://user@example.com/',
    'https://:secret@example.com/',
  ])('refuses embedded credentials in %s', (input) => {
    expectRefused(input, /credentials/);
  });

  describe('self origin', () => {
    it.each([
      'https://sn.ip/abc',
      'https://sn.ip',
      'https://SN.IP/abc',
      'https://sn.ip:443/abc',
      'https://sn.ip./abc',
    ])('refuses %s, which would loop back to snip', (input) => {
      expectRefused(input, /this shortener itself/);
    });

    it('allows other hosts and other ports of the same host', () => {
      expect(policy.normalize('https://sn.ip:8443/x')).toBe('https://sn.ip:8443/x');
      expect(policy.normalize('https://www.sn.ip/x')).toBe('https://www.sn.ip/x');
      expect(policy.normalize('https://sn.ip.example/x')).toBe('https://sn.ip.example/x');
    });

    it('treats an explicit default port in the base URL like no port', () => {
      const http = new UrlPolicy({ maxLength: 100, selfOrigins: ['http://short.test:80'] });
      expectRefused('http://short.test/x', /itself/, http);
      expectRefused('http://short.test:80/x', /itself/, http);
      expect(http.normalize('http://short.test:8080/x')).toBe('http://short.test:8080/x');
    });

    it('compares explicit ports in the base URL', () => {
      const local = new UrlPolicy({ maxLength: 100, selfOrigins: ['http://localhost:3000'] });
      expectRefused('http://localhost:3000/abc', /itself/, local);
      expectRefused('http://LOCALHOST:3000/abc', /itself/, local);
      expect(local.normalize('http://localhost:3001/abc')).toBe('http://localhost:3001/abc');
      expect(local.normalize('http://localhost/abc')).toBe('http://localhost/abc');
    });

    it('refuses an IDN self origin written either way', () => {
      const idn = new UrlPolicy({ maxLength: 100, selfOrigins: ['https://kürz.example'] });
      expectRefused('https://kürz.example/a', /itself/, idn);
      expectRefused('https://xn--krz-hoa.example/a', /itself/, idn);
    });
  });
});
