import { DomainError } from '@app/core';
import { DomainBlocklist } from './domain-blocklist';
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

    it('refuses every port of the same host, and allows other hosts', () => {
      expectRefused('https://sn.ip:8443/x', /itself/);
      expectRefused('http://sn.ip:80/x', /itself/);
      expect(policy.normalize('https://www.sn.ip/x')).toBe('https://www.sn.ip/x');
      expect(policy.normalize('https://sn.ip.example/x')).toBe('https://sn.ip.example/x');
    });

    it('reads the host of a base URL with an explicit port', () => {
      const http = new UrlPolicy({ maxLength: 100, selfOrigins: ['http://short.test:80'] });
      expectRefused('http://short.test/x', /itself/, http);
      expectRefused('http://short.test:8080/x', /itself/, http);
      expect(http.normalize('http://other.test:8080/x')).toBe('http://other.test:8080/x');
    });

    it('treats every loopback spelling as snip itself when it answers on localhost', () => {
      const local = new UrlPolicy({
        maxLength: 100,
        selfOrigins: ['http://localhost:3000'],
        allowPrivateTargets: true,
      });
      for (const input of [
        'http://localhost:3000/abc',
        'http://LOCALHOST:3001/abc',
        'http://localhost./abc',
        'http://app.localhost/abc',
        'http://127.0.0.1:3000/abc',
        'http://127.1.2.3/abc',
        'http://2130706433:3000/abc',
        'http://[::1]:3000/abc',
        'http://[::ffff:127.0.0.1]:3000/abc',
        'http://0.0.0.0:3000/abc',
      ]) {
        expectRefused(input, /itself/, local);
      }
      // Allowed private targets elsewhere on the network stay allowed.
      expect(local.normalize('http://192.168.1.20:3000/abc')).toBe('http://192.168.1.20:3000/abc');
    });

    it('refuses an IDN self origin written either way', () => {
      const idn = new UrlPolicy({ maxLength: 100, selfOrigins: ['https://kürz.example'] });
      expectRefused('https://kürz.example/a', /itself/, idn);
      expectRefused('https://xn--krz-hoa.example/a', /itself/, idn);
    });
  });

  describe('SELF_HOSTS', () => {
    const selfHosts = new UrlPolicy({
      maxLength: 100,
      selfOrigins: ['https://sn.ip'],
      selfHosts: ['go.example', 'snip-api.svc.cluster.local:8080', '10.0.0.5:3000', '[fd00::5]'],
      allowPrivateTargets: true,
    });

    it.each([
      'https://go.example/abc',
      'http://GO.EXAMPLE.:8080/abc',
      'https://snip-api.svc.cluster.local/abc',
      'http://snip-api.svc.cluster.local:8080/abc',
      'http://10.0.0.5/abc',
      'http://10.0.0.5:3001/abc',
      'http://167772165/abc',
      'http://[::ffff:10.0.0.5]:3000/abc',
      'http://[FD00:0:0::5]/abc',
    ])('refuses %s, another name (and any port) of snip', (input) => {
      expectRefused(input, /this shortener itself/, selfHosts);
    });

    it('allows their neighbours', () => {
      expect(selfHosts.normalize('https://www.go.example/a')).toBe('https://www.go.example/a');
      expect(selfHosts.normalize('http://10.0.0.6:3000/a')).toBe('http://10.0.0.6:3000/a');
    });
  });

  describe('internal addresses', () => {
    const internal = [
      ['decimal IPv4', 'http://2130706433/'],
      ['hexadecimal IPv4', 'http://0x7f.1/'],
      ['octal IPv4', 'http://0177.0.0.1/'],
      ['short IPv4', 'http://127.1/'],
      ['IPv4-mapped IPv6', 'http://[::ffff:127.0.0.1]/'],
      ['IPv4-mapped IPv6 in hex', 'http://[::ffff:7f00:1]/'],
      ['IPv6 loopback', 'http://[::1]/'],
      ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
      ['the metadata address mapped', 'http://[::ffff:a9fe:a9fe]/'],
      ['the GCP metadata name', 'http://metadata.google.internal/computeMetadata/v1/'],
      ['the metadata name, upper case and fully qualified', 'http://METADATA.Google.Internal./'],
      ['localhost with a port', 'http://localhost:3000/'],
      ['LOCALHOST.', 'http://LOCALHOST./'],
      ['a name under localhost', 'http://api.dev.localhost/'],
      ['10/8', 'http://10.1.2.3/'],
      ['172.16/12', 'http://172.16.0.1/'],
      ['172.16/12, last address', 'http://172.31.255.255/'],
      ['192.168/16', 'https://192.168.0.1:8443/'],
      ['carrier-grade NAT', 'http://100.64.0.1/'],
      ['unspecified IPv4', 'http://0.0.0.0/'],
      ['unspecified IPv4, as 0', 'http://0/'],
      ['unspecified IPv6', 'http://[::]/'],
      ['multicast', 'http://224.0.0.1/'],
      ['broadcast', 'http://255.255.255.255/'],
      ['reserved', 'http://240.0.0.1/'],
      ['IPv6 link-local', 'http://[fe80::1]/'],
      ['IPv6 unique local', 'http://[fd12:3456::1]/'],
      ['IPv6 multicast', 'http://[ff02::1]/'],
      ['NAT64 of loopback', 'http://[64:ff9b::7f00:1]/'],
      ['6to4 of loopback', 'http://[2002:7f00:1::]/'],
    ];

    it.each(internal)('refuses %s (%s) by default', (_, input) => {
      expectRefused(input, /internal address/);
    });

    it.each(internal)('accepts %s (%s) with URL_ALLOW_PRIVATE_TARGETS', (_, input) => {
      const open = new UrlPolicy({
        maxLength: 100,
        selfOrigins: ['https://sn.ip'],
        allowPrivateTargets: true,
      });
      expect(open.normalize(input)).toBe(new URL(input).href);
    });

    it.each([
      ['http://8.8.8.8/', 'http://8.8.8.8/'],
      ['http://134744072/', 'http://8.8.8.8/'],
      ['http://172.32.0.1/', 'http://172.32.0.1/'],
      ['http://100.128.0.1/', 'http://100.128.0.1/'],
      ['http://169.255.0.1/', 'http://169.255.0.1/'],
      ['http://[2606:4700:4700::1111]/', 'http://[2606:4700:4700::1111]/'],
      ['http://[::ffff:8.8.8.8]/', 'http://[::ffff:808:808]/'],
      ['https://localhost.example.com/', 'https://localhost.example.com/'],
      ['https://metadata.google.example/', 'https://metadata.google.example/'],
    ])('accepts the public %s', (input, stored) => {
      expect(policy.normalize(input)).toBe(stored);
    });
  });

  describe('blocked domains', () => {
    const blocklist = new DomainBlocklist({
      domains: ['bad.example', 'Evil.Example.', '*.spam.test', 'bücher.example', '203.0.113.9'],
    });
    const blocking = new UrlPolicy({ maxLength: 100, selfOrigins: ['https://sn.ip'], blocklist });

    function expectBlocked(input: string, domain: string): void {
      const error = refusal(() => blocking.normalize(input));
      expect(error.status).toBe(400);
      expect(error.code).toBe('URL_BLOCKED');
      expect(error.detail).toContain(domain);
      expect(error.extensions).toEqual({ domain });
    }

    it.each([
      ['https://bad.example/x', 'bad.example'],
      ['https://WWW.BAD.EXAMPLE./x', 'bad.example'],
      ['http://a.b.bad.example:8443/x', 'bad.example'],
      ['https://evil.example/', 'evil.example'],
      ['https://spam.test/', 'spam.test'],
      ['https://x.spam.test/', 'spam.test'],
      ['https://shop.bücher.example/', 'xn--bcher-kva.example'],
    ])('refuses %s, under %s', (input, domain) => {
      expectBlocked(input, domain);
    });

    it('refuses an address on the list however it is written', () => {
      const open = new UrlPolicy({
        maxLength: 100,
        selfOrigins: ['https://sn.ip'],
        allowPrivateTargets: true,
        blocklist,
      });
      expect(() => open.normalize('http://3405803785/')).toThrow(/blocked/);
    });

    it.each([
      'https://notbad.example/',
      'https://bad.example.org/',
      'https://example/',
      'https://spam.testing/',
    ])('allows %s', (input) => {
      expect(blocking.normalize(input)).toBe(input);
    });

    it('names the blocked domain of a stored URL', () => {
      expect(blocking.blockedDomainOf('https://m.bad.example/x')).toBe('bad.example');
      expect(blocking.blockedDomainOf('https://good.example/x')).toBeNull();
    });
  });
});
