import { createHmac } from 'node:crypto';
import { truncateIp } from '@app/core';

type IpMode = 'truncate' | 'hash' | 'drop' | 'raw';

export interface IpAnonymizerOptions {
  readonly mode: IpMode;
  /** Bits of an IPv4 address kept in `truncate` mode (24 keeps a.b.c.0). */
  readonly ipv4Prefix: number;
  /** Bits of an IPv6 address kept in `truncate` mode (48 keeps the site prefix). */
  readonly ipv6Prefix: number;
  /** HMAC key of `hash` mode. */
  readonly hashKey?: string;
}

/**
 * Turns a client address into what snip may keep: by default the network only (IPv4 /24, IPv6
 * /48), enough for a country, not for a person. `hash` keeps a keyed HMAC (counts distinct
 * clients, reveals nothing without the key, and gives no country); `drop` keeps nothing.
 */
export class IpAnonymizer {
  constructor(private readonly options: IpAnonymizerOptions) {
    if (options.mode === 'hash' && !options.hashKey) {
      throw new Error('IpAnonymizer: hash mode needs a key');
    }
  }

  anonymize(ip: string | undefined | null): string | null {
    if (!ip) return null;
    switch (this.options.mode) {
      case 'drop':
        return null;
      case 'raw':
        return ip;
      case 'hash':
        return `h:${createHmac('sha256', this.options.hashKey ?? '')
          .update(ip)
          .digest('base64url')
          .slice(0, 22)}`;
      case 'truncate':
        return truncateIp(ip, this.options.ipv4Prefix, this.options.ipv6Prefix);
    }
  }
}
