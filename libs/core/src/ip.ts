import { isIPv4, isIPv6 } from 'node:net';

/** The network part of `ip`, host bits zeroed; null for anything that is not an address. */
export function truncateIp(ip: string, ipv4Prefix: number, ipv6Prefix: number): string | null {
  if (isIPv4(ip)) {
    const parts = ip.split('.');
    if (ipv4Prefix % 8 === 0) {
      // Whole octets (the default /24): kept as written, the rest zeroed, without arithmetic.
      const kept = ipv4Prefix / 8;
      return parts.map((part, i) => (i < kept ? part : '0')).join('.');
    }
    const [a = 0, b = 0, c = 0, d = 0] = parts.map(Number);
    const mask = ipv4Prefix === 0 ? 0 : (0xffffffff << (32 - ipv4Prefix)) >>> 0;
    const m = (((a << 24) | (b << 16) | (c << 8) | d) & mask) >>> 0;
    return `${m >>> 24}.${(m >>> 16) & 0xff}.${(m >>> 8) & 0xff}.${m & 0xff}`;
  }
  // An IPv4-mapped IPv6 address (a dual-stack listener's view of an IPv4 client).
  const mapped = ip.startsWith('::') ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip) : null;
  if (mapped?.[1]) return truncateIp(mapped[1], ipv4Prefix, ipv6Prefix);
  const zone = ip.indexOf('%');
  const address = zone < 0 ? ip : ip.slice(0, zone);
  if (!isIPv6(address)) return null;
  const groups = parseIpv6(address);
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, ipv6Prefix - i * 16));
    groups[i] = groups[i]! & (keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff);
  }
  return formatIpv6(groups);
}

function parseIpv6(address: string): number[] {
  let text = address.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as ::. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
