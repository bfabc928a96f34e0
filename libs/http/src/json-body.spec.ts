import { DomainError } from '@app/core';
import { decodeJsonBody, jsonDepth, MAX_JSON_DEPTH } from './json-body';

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return error instanceof DomainError ? error.code : 'not a DomainError';
  }
  return undefined;
};

describe('jsonDepth', () => {
  it('counts how deeply objects and arrays nest', () => {
    expect(jsonDepth('1', 32)).toBe(0);
    expect(jsonDepth('{"a":1}', 32)).toBe(1);
    expect(jsonDepth('{"a":[1,{"b":[]}],"c":{}}', 32)).toBe(4);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(jsonDepth('{"a":"[[[{{{"}', 32)).toBe(1);
    expect(jsonDepth('{"a":"\\"[[[","b":"\\\\"}', 32)).toBe(1);
  });

  it('stops at the first level past the limit', () => {
    expect(jsonDepth('['.repeat(100_000), 32)).toBe(33);
  });
});

describe('decodeJsonBody', () => {
  it('returns the text of a UTF-8 body, multi-byte characters included', () => {
    expect(decodeJsonBody(Buffer.from('{"url":"https://bücher.example/€"}'))).toBe(
      '{"url":"https://bücher.example/€"}',
    );
  });

  it('refuses bytes that are not UTF-8 as MALFORMED_JSON', () => {
    const body = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    expect(codeOf(() => decodeJsonBody(body))).toBe('MALFORMED_JSON');
    // A lone surrogate encoded as UTF-8 (CESU) is not UTF-8 either.
    expect(codeOf(() => decodeJsonBody(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])))).toBe(
      'MALFORMED_JSON',
    );
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses one more as JSON_TOO_DEEP`, () => {
    const nested = (levels: number): Buffer =>
      Buffer.from(`${'['.repeat(levels)}${']'.repeat(levels)}`);
    expect(codeOf(() => decodeJsonBody(nested(MAX_JSON_DEPTH)))).toBeUndefined();
    expect(codeOf(() => decodeJsonBody(nested(MAX_JSON_DEPTH + 1)))).toBe('JSON_TOO_DEEP');
    expect(codeOf(() => decodeJsonBody(nested(2000)))).toBe('JSON_TOO_DEEP');
  });
});
