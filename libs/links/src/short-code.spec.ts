import { BASE62_ALPHABET, ShortCodeCodec } from './short-code';

const SECRET = 'unit-test-secret-0123456789';
const BASE62_CODE = /^[0-9A-Za-z]+$/;

/** A deterministic pseudo-random id generator (xorshift64*), so failures reproduce. */
function* sampleIds(
  capacity: bigint,
  count: number,
  seed = 0x9e3779b97f4a7c15n,
): Generator<bigint> {
  const mask = (1n << 64n) - 1n;
  let state = seed;
  for (let i = 0; i < count; i++) {
    state ^= (state << 13n) & mask;
    state ^= state >> 7n;
    state ^= (state << 17n) & mask;
    yield state % capacity;
  }
}

const toNumber = (code: string): bigint =>
  [...code].reduce((value, char) => value * 62n + BigInt(BASE62_ALPHABET.indexOf(char)), 0n);

describe('ShortCodeCodec', () => {
  const codec = new ShortCodeCodec(7, SECRET);

  it('covers 62^length ids', () => {
    expect(codec.capacity).toBe(62n ** 7n);
    expect(new ShortCodeCodec(5, SECRET).capacity).toBe(62n ** 5n);
  });

  it('is a bijection on the whole space of a small length', () => {
    const small = new ShortCodeCodec(2, SECRET);
    const seen = new Set<string>();
    const wrong: string[] = [];
    for (let id = 0n; id < small.capacity; id++) {
      const code = small.encode(id);
      if (code.length !== 2 || small.decode(code) !== id) wrong.push(`${id} -> ${code}`);
      seen.add(code);
    }
    expect(wrong).toEqual([]);
    expect(seen.size).toBe(62 * 62);
  });

  it.each([
    ['0', 0n],
    ['1', 1n],
    ['capacity - 1', 62n ** 7n - 1n],
    ['capacity - 2', 62n ** 7n - 2n],
    ['2^32', 2n ** 32n],
  ])('round-trips the edge id %s', (_, id) => {
    const code = codec.encode(id);
    expect(code).toMatch(BASE62_CODE);
    expect(code).toHaveLength(7);
    expect(codec.decode(code)).toBe(id);
  });

  it('round-trips random samples across the space (decode . encode = id)', () => {
    const codes = new Map<string, bigint>();
    const wrong: string[] = [];
    for (const id of sampleIds(codec.capacity, 5000)) {
      const code = codec.encode(id);
      const earlier = codes.get(code);
      if (codec.decode(code) !== id || (earlier !== undefined && earlier !== id)) {
        wrong.push(`${id} -> ${code}`);
      }
      codes.set(code, id);
    }
    expect(wrong).toEqual([]);
    expect(codes.size).toBeGreaterThan(4990);
  });

  it('round-trips random codes (encode . decode = code)', () => {
    const wrong: string[] = [];
    for (const value of sampleIds(codec.capacity, 2000, 42n)) {
      let code = '';
      for (let rest = value, i = 0; i < 7; i++, rest /= 62n) {
        code = BASE62_ALPHABET[Number(rest % 62n)]! + code;
      }
      const id = codec.decode(code);
      if (id === undefined || codec.encode(id) !== code) wrong.push(code);
    }
    expect(wrong).toEqual([]);
  });

  it('never repeats a code over 100k consecutive ids, all of the fixed length', () => {
    const seen = new Set<string>();
    for (let id = 0n; id < 100_000n; id++) {
      const code = codec.encode(id);
      if (code.length !== 7 || !BASE62_CODE.test(code)) throw new Error(`bad code ${code}`);
      seen.add(code);
    }
    expect(seen.size).toBe(100_000);
  });

  it('never repeats a code over the last ids of the space', () => {
    const seen = new Set<string>();
    for (let id = codec.capacity - 10_000n; id < codec.capacity; id++) seen.add(codec.encode(id));
    expect(seen.size).toBe(10_000);
  });

  it('keeps every length fixed, from the shortest to the longest configurable', () => {
    for (const length of [5, 6, 7, 8, 11]) {
      const sized = new ShortCodeCodec(length, SECRET);
      for (const id of [0n, 1n, 12_345n, sized.capacity - 1n]) {
        const code = sized.encode(id);
        expect(code).toHaveLength(length);
        expect(sized.decode(code)).toBe(id);
      }
    }
  });

  it('gives different codes under different secrets', () => {
    const other = new ShortCodeCodec(7, 'another-secret-0123456789');
    let same = 0;
    for (let id = 0n; id < 1000n; id++) if (codec.encode(id) === other.encode(id)) same++;
    expect(same).toBe(0);
    // And a code decodes to a different id without the right key.
    const code = codec.encode(123n);
    expect(other.decode(code)).not.toBe(123n);
  });

  it('is deterministic for one secret', () => {
    const again = new ShortCodeCodec(7, SECRET);
    for (const id of [0n, 7n, 99_999n]) expect(again.encode(id)).toBe(codec.encode(id));
  });

  it('does not reveal creation order: consecutive ids give unrelated codes', () => {
    const codes = Array.from({ length: 1000 }, (_, i) => codec.encode(BigInt(i)));
    const values = codes.map(toNumber);
    // No two neighbours are close in the code space (an order-preserving or additive scheme
    // would put them within a few steps of each other).
    const space = Number(codec.capacity);
    for (let i = 1; i < values.length; i++) {
      const distance = Math.abs(Number(values[i]! - values[i - 1]!));
      expect(distance).toBeGreaterThan(space / 1e6);
    }
    // Neither sorted nor sharing a common prefix: leading characters spread over the alphabet.
    const sorted = [...codes].sort();
    expect(codes).not.toEqual(sorted);
    expect(new Set(codes.map((c) => c[0])).size).toBeGreaterThan(50);
    // Neighbours rarely share any position (1/62 per position by chance).
    let samePosition = 0;
    for (let i = 1; i < codes.length; i++) {
      for (let p = 0; p < 7; p++) if (codes[i]![p] === codes[i - 1]![p]) samePosition++;
    }
    expect(samePosition).toBeLessThan((codes.length * 7) / 20);
  });

  it('refuses ids outside the space with a RangeError', () => {
    expect(() => codec.encode(-1n)).toThrow(RangeError);
    expect(() => codec.encode(codec.capacity)).toThrow(RangeError);
    expect(() => codec.encode(codec.capacity + 1n)).toThrow(RangeError);
  });

  it('decodes only well-formed codes of its length', () => {
    expect(codec.decode('abc')).toBeUndefined();
    expect(codec.decode('abcdefgh')).toBeUndefined();
    expect(codec.decode('abc-efg')).toBeUndefined();
    expect(codec.decode('abc_efg')).toBeUndefined();
    expect(codec.decode('')).toBeUndefined();
  });

  it('refuses a bad length or an empty secret', () => {
    expect(() => new ShortCodeCodec(0, SECRET)).toThrow(RangeError);
    expect(() => new ShortCodeCodec(17, SECRET)).toThrow(RangeError);
    expect(() => new ShortCodeCodec(6.5, SECRET)).toThrow(RangeError);
    expect(() => new ShortCodeCodec(7, '')).toThrow(RangeError);
  });
});
