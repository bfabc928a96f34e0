import { truncateIp } from './ip';

describe('truncateIp', () => {
  it.each([
    ['203.0.113.77', 24, '203.0.113.0'],
    ['203.0.113.77', 16, '203.0.0.0'],
    ['203.0.113.77', 32, '203.0.113.77'],
    ['203.0.113.77', 0, '0.0.0.0'],
    ['::ffff:203.0.113.77', 24, '203.0.113.0'],
  ])('IPv4 %s /%i -> %s', (ip, bits, expected) => {
    expect(truncateIp(ip, bits, 48)).toBe(expected);
  });

  it.each([
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', 48, '2001:db8:85a3::'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', 56, '2001:db8:85a3:800::'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', 128, '2001:db8::1'],
    ['fe80::1%eth0', 64, 'fe80::'],
    ['::1', 48, '::'],
    ['64:ff9b::192.0.2.33', 128, '64:ff9b::c000:221'],
    ['2001:db8:0:1:1:1:1:1', 128, '2001:db8:0:1:1:1:1:1'],
  ])('IPv6 %s /%i -> %s', (ip, bits, expected) => {
    expect(truncateIp(ip, 24, bits)).toBe(expected);
  });

  it('returns null for what is not an address', () => {
    expect(truncateIp('unknown', 24, 48)).toBeNull();
    expect(truncateIp('1.2.3', 24, 48)).toBeNull();
  });
});
