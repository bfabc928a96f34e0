import { dateTimeLiteral, identifier, linkIdLiteral } from './sql';

describe('ClickHouse SQL literals', () => {
  it('writes link ids as they are, digits only', () => {
    expect(linkIdLiteral('1')).toBe('1');
    expect(linkIdLiteral('18446744073709551615')).toBe('18446744073709551615');
  });

  it.each([
    '',
    '0',
    '01',
    '-1',
    '1.5',
    '1e3',
    ' 1',
    '1 OR 1=1',
    "1'; DROP TABLE clicks --",
    '18446744073709551616',
    '123456789012345678901',
  ])('refuses %j as a link id', (value) => {
    expect(() => linkIdLiteral(value)).toThrow(TypeError);
  });

  it('writes instants as whole UTC seconds', () => {
    expect(dateTimeLiteral(new Date('2030-05-02T00:00:00.000Z'))).toBe(
      "toDateTime(1903910400, 'UTC')",
    );
    // Milliseconds round down: [from, to) bounds stay on the second they name.
    expect(dateTimeLiteral(new Date('2030-05-02T00:00:00.999Z'))).toBe(
      "toDateTime(1903910400, 'UTC')",
    );
  });

  it('refuses invalid dates and dates before 1970', () => {
    expect(() => dateTimeLiteral(new Date('nope'))).toThrow(TypeError);
    expect(() => dateTimeLiteral(new Date('1969-12-31T23:59:59Z'))).toThrow(TypeError);
  });

  it('quotes plain identifiers and refuses anything else', () => {
    expect(identifier('snip_test_1')).toBe('`snip_test_1`');
    for (const bad of ['', '1abc', 'a-b', 'a`b', 'a b', 'a.b', 'x'.repeat(64)]) {
      expect(() => identifier(bad)).toThrow(TypeError);
    }
  });
});
