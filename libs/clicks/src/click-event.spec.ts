import { createClickEvent, validateClickEvent, type ClickEvent } from './click-event';
import { uuidv7, uuidv7Time, UUID_V7_PATTERN } from './uuidv7';

const link = { id: '42', code: 'abc1234' };
const at = new Date('2030-01-31T23:59:59.123Z');

function event(overrides: Partial<Record<keyof ClickEvent, unknown>> = {}): unknown {
  return {
    ...createClickEvent(
      link,
      { method: 'GET', userAgent: 'UA', referrer: 'https://r.example/' },
      '1.2.3.0',
      at,
    ),
    ...overrides,
  };
}

describe('uuidv7', () => {
  it('makes version 7, variant 10 ids carrying the given millisecond', () => {
    const ids = Array.from({ length: 1000 }, () => uuidv7(at.getTime()));
    for (const id of ids) {
      expect(id).toMatch(UUID_V7_PATTERN);
      expect(uuidv7Time(id)).toBe(at.getTime());
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sorts by time', () => {
    expect(uuidv7(1000) < uuidv7(1001)).toBe(true);
    expect(uuidv7(0xffffffffffff)).toMatch(/^ffffffff-ffff-7/);
  });
});

describe('createClickEvent', () => {
  it('builds a v1 event whose ts is the id time', () => {
    const e = createClickEvent(
      link,
      { method: 'HEAD', ip: 'x', userAgent: '', acceptLanguage: 'en' },
      '9.9.9.0',
      at,
    );
    expect(e).toMatchObject({
      v: 1,
      linkId: '42',
      code: 'abc1234',
      ts: '2030-01-31T23:59:59.123Z',
      method: 'HEAD',
      ip: '9.9.9.0',
      ua: null,
      referrer: null,
      lang: 'en',
    });
    expect(uuidv7Time(e.id)).toBe(at.getTime());
  });

  it('clips over-long headers so that the event stays valid', () => {
    const e = createClickEvent(link, { method: 'GET', userAgent: 'u'.repeat(5000) }, null, at);
    expect(e.ua).toHaveLength(512);
    expect(validateClickEvent(e).ok).toBe(true);
  });
});

describe('validateClickEvent', () => {
  it('accepts a well-formed event and keeps only known fields', () => {
    const result = validateClickEvent({ ...(event() as object), extra: 'x' });
    expect(result.ok).toBe(true);
    expect(result.ok && 'extra' in result.event).toBe(false);
  });

  it.each([
    ['not an object', 'x'],
    ['an array', []],
    ['another version', event({ v: 2 })],
    ['a v4 uuid', event({ id: '3b241101-e2bb-4255-8caf-4136c566a962' })],
    ['a link id that is no integer', event({ linkId: '4x' })],
    ['a numeric link id', event({ linkId: 42 })],
    ['an empty code', event({ code: '' })],
    ['a ts other than the id time', event({ ts: '2030-01-31T23:59:59.124Z' })],
    ['a ts not in UTC ISO form', event({ ts: 'Thu, 31 Jan 2030 23:59:59 GMT' })],
    ['another method', event({ method: 'POST' })],
    ['a numeric ip', event({ ip: 7 })],
    ['an over-long referrer', event({ referrer: 'r'.repeat(3000) })],
    ['a missing ua', event({ ua: undefined })],
  ])('refuses %s', (_, value) => {
    const result = validateClickEvent(value);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason.length).toBeGreaterThan(0);
  });
});
