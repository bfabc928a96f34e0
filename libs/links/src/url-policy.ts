import ipaddr from 'ipaddr.js';
import { bareHost } from './domain-blocklist';
import { urlBlocked, urlNotAllowed } from './links.errors';

export interface UrlPolicyOptions {
  /** Longest accepted URL, in characters, before and after normalisation. */
  readonly maxLength: number;
  /** snip's own public origins (PUBLIC_BASE_URL): a target there would redirect to snip itself. */
  readonly selfOrigins: readonly string[];
  /** SELF_HOSTS: further names (host or host:port) snip answers on; every port of them counts. */
  readonly selfHosts?: readonly string[];
  /** URL_ALLOW_PRIVATE_TARGETS: accept loopback, private, link-local... targets. Default false. */
  readonly allowPrivateTargets?: boolean;
  /** The blocked domains (URL_BLOCKED_DOMAINS and URL_BLOCKLIST_FILE). */
  readonly blocklist?: { match(hostname: string): string | null };
}

const ABSOLUTE_HTTP = /^https?:\/\//i;
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}\p{Cf}]/u;

/** Names that always mean this machine or the cloud's instance metadata service. */
const INTERNAL_NAMES: ReadonlySet<string> = new Set(['localhost', 'metadata.google.internal']);

/** A target host, classified. */
interface Host {
  /** How two spellings of one host compare: the bare name, or the address in its canonical form. */
  readonly key: string;
  /** ipaddr.js' range of an address ('unicast' for a public one); a name's is undefined. */
  readonly range?: string;
  /** This machine: a loopback or unspecified address, `localhost` or a name under it. */
  readonly loopback: boolean;
}

/**
 * Classifies the host of `url`, which the WHATWG parser has already normalised: lower case, IDN in
 * punycode, and every IPv4 spelling (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) turned into
 * dotted decimal. ipaddr.js then reads the address; an IPv4-mapped IPv6 address (`::ffff:7f00:1`)
 * counts as the IPv4 address it carries.
 */
function classify(hostname: string): Host {
  const host = bareHost(hostname);
  let address: ipaddr.IPv4 | ipaddr.IPv6 | undefined;
  if (host.startsWith('[') && host.endsWith(']')) {
    const v6 = ipaddr.IPv6.parse(host.slice(1, -1));
    address = v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  } else if (ipaddr.IPv4.isValidFourPartDecimal(host)) {
    address = ipaddr.IPv4.parse(host);
  }
  if (address) {
    const range = address.range();
    return {
      key: address.toString(),
      range,
      loopback: range === 'loopback' || range === 'unspecified',
    };
  }
  return { key: host, loopback: host === 'localhost' || host.endsWith('.localhost') };
}

/** Why `host` is internal (the ipaddr.js range, or "internal name"), or null when it is public. */
function internalReason(host: Host): string | null {
  if (host.range !== undefined) return host.range === 'unicast' ? null : host.range;
  return host.loopback || INTERNAL_NAMES.has(host.key) ? 'internal name' : null;
}

/** The host of a configured origin or `host[:port]` entry, classified; null if it is none. */
function configuredHost(entry: string): Host | null {
  try {
    return classify(new URL(entry.includes('://') ? entry : `http://${entry}`).hostname);
  } catch {
    return null;
  }
}

/**
 * The rules a target URL must follow. `normalize` returns the URL as snip stores it (WHATWG
 * serialisation, IDN hosts in punycode) or throws URL_NOT_ALLOWED (or URL_BLOCKED) saying which
 * rule failed.
 *
 * snip never fetches a target: these rules keep links from looping back to snip and from pointing
 * visitors at internal or blocked hosts; they are no SSRF control, and need not be.
 */
export class UrlPolicy {
  private readonly selfHosts: ReadonlySet<string>;
  /** When snip answers on a loopback name, every loopback spelling reaches it. */
  private readonly selfLoopback: boolean;

  constructor(private readonly options: UrlPolicyOptions) {
    const hosts = [...options.selfOrigins, ...(options.selfHosts ?? [])]
      .map(configuredHost)
      .filter((host): host is Host => host !== null);
    this.selfHosts = new Set(hosts.map((host) => host.key));
    this.selfLoopback = hosts.some((host) => host.loopback);
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
    this.assertAllowedHost(url.hostname);
    const normalized = url.href;
    if (normalized.length > maxLength) {
      throw urlNotAllowed(`The URL is longer than ${maxLength} characters once normalised.`);
    }
    return normalized;
  }

  /** The blocked domain that the (stored) URL `url` points into, or null. */
  blockedDomainOf(url: string): string | null {
    try {
      return this.options.blocklist?.match(new URL(url).hostname) ?? null;
    } catch {
      return null;
    }
  }

  private assertAllowedHost(hostname: string): void {
    const host = classify(hostname);
    if (this.selfHosts.has(host.key) || (this.selfLoopback && host.loopback)) {
      throw urlNotAllowed(
        `The URL points at this shortener itself (${host.key}), which would loop.`,
      );
    }
    if (!this.options.allowPrivateTargets) {
      const reason = internalReason(host);
      if (reason !== null) {
        throw urlNotAllowed(
          `The URL points at an internal address (${host.key}: ${reason}); only public hosts can be shortened.`,
        );
      }
    }
    const blocked = this.options.blocklist?.match(hostname) ?? null;
    if (blocked !== null) throw urlBlocked(blocked);
  }
}
