import { urlNotAllowed } from './links.errors';

export interface UrlPolicyOptions {
  /** Longest accepted URL, in characters, before and after normalisation. */
  readonly maxLength: number;
  /** snip's own public origins: a target there would redirect to snip itself. */
  readonly selfOrigins: readonly string[];
}

const ABSOLUTE_HTTP = /^https?:\/\//i;
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}\p{Cf}]/u;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

// A trailing dot names the same host (`sn.ip.` is the fully qualified `sn.ip`).
const hostKey = (url: URL): string =>
  `${url.hostname.toLowerCase().replace(/\.$/, '')}:${url.port || DEFAULT_PORTS[url.protocol] || ''}`;

/**
 * The rules a target URL must follow. `normalize` returns the URL as snip stores it (WHATWG
 * serialisation, IDN hosts in punycode) or throws URL_NOT_ALLOWED saying which rule failed.
 */
export class UrlPolicy {
  private readonly selfHosts: ReadonlySet<string>;

  constructor(private readonly options: UrlPolicyOptions) {
    this.selfHosts = new Set(options.selfOrigins.map((origin) => hostKey(new URL(origin))));
  }

  normalize(input: string): string {
    const { maxLength } = this.options;
    if (input.length === 0) throw urlNotAllowed('The URL is empty.');
    if (input.length > maxLength) {
      throw urlNotAllowed(`The URL is longer than ${maxLength} characters.`);
    }
    if (WHITESPACE_OR_CONTROL.test(input)) {
      throw urlNotAllowed(
        'The URL contains whitespace or control characters; percent-encode them.',
      );
    }
    if (!ABSOLUTE_HTTP.test(input)) {
      throw urlNotAllowed('Only absolute http:// and https:// URLs can be shortened.');
    }
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw urlNotAllowed('The URL cannot be parsed.');
    }
    if (url.hostname === '') throw urlNotAllowed('The URL has no host.');
    if (url.username !== '' || url.password !== '') {
      throw urlNotAllowed('URLs with embedded credentials (user:password@) are not allowed.');
    }
    if (this.selfHosts.has(hostKey(url))) {
      throw urlNotAllowed('The URL points at this shortener itself, which would loop.');
    }
    const normalized = url.href;
    if (normalized.length > maxLength) {
      throw urlNotAllowed(`The URL is longer than ${maxLength} characters once normalised.`);
    }
    return normalized;
  }
}
