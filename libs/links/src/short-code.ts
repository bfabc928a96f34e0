import { createHmac } from 'node:crypto';

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE = 62n;
const ROUNDS = 4;

/**
 * Maps link ids to fixed-length base62 codes and back with a keyed permutation of the code space:
 * a balanced Feistel network over the smallest even number of bits that covers 62^length, with
 * cycle-walking to stay inside the space. Distinct ids always give distinct codes (it is a
 * bijection), consecutive ids give unrelated codes, and without the key the next code can't be
 * guessed.
 */
export class ShortCodeCodec {
  /** How many codes exist: 62^length. Ids must lie in [0, capacity). */
  readonly capacity: bigint;
  private readonly halfBits: bigint;
  private readonly halfMask: bigint;
  private readonly roundKeys: readonly Buffer[];

  constructor(
    readonly length: number,
    secret: string,
  ) {
    if (!Number.isInteger(length) || length < 1 || length > 16) {
      throw new RangeError(`code length must be an integer from 1 to 16, got ${length}`);
    }
    if (secret.length === 0) throw new RangeError('the short-code secret must not be empty');
    this.capacity = BASE ** BigInt(length);
    let bits = (this.capacity - 1n).toString(2).length;
    if (bits % 2 === 1) bits += 1;
    this.halfBits = BigInt(bits / 2);
    this.halfMask = (1n << this.halfBits) - 1n;
    this.roundKeys = Array.from({ length: ROUNDS }, (_, round) =>
      createHmac('sha256', secret).update(`snip-code-round-${round}`).digest(),
    );
  }

  /** The code for `id`. */
  encode(id: bigint): string {
    if (id < 0n || id >= this.capacity) {
      throw new RangeError(`id ${id} is outside the code space [0, ${this.capacity})`);
    }
    let x = id;
    do x = this.encrypt(x);
    while (x >= this.capacity);
    return this.toBase62(x);
  }

  /** The id behind `code`, or undefined when `code` is not a well-formed code of this length. */
  decode(code: string): bigint | undefined {
    const value = this.fromBase62(code);
    if (value === undefined) return undefined;
    let x = value;
    do x = this.decrypt(x);
    while (x >= this.capacity);
    return x;
  }

  private encrypt(x: bigint): bigint {
    let left = x >> this.halfBits;
    let right = x & this.halfMask;
    for (let round = 0; round < ROUNDS; round++) {
      [left, right] = [right, left ^ this.round(round, right)];
    }
    return (left << this.halfBits) | right;
  }

  private decrypt(x: bigint): bigint {
    let left = x >> this.halfBits;
    let right = x & this.halfMask;
    for (let round = ROUNDS - 1; round >= 0; round--) {
      [left, right] = [right ^ this.round(round, left), left];
    }
    return (left << this.halfBits) | right;
  }

  private round(round: number, half: bigint): bigint {
    const input = Buffer.alloc(8);
    input.writeBigUInt64BE(half);
    const digest = createHmac('sha256', this.roundKeys[round] as Buffer)
      .update(input)
      .digest();
    return digest.readBigUInt64BE(0) & this.halfMask;
  }

  private toBase62(value: bigint): string {
    const chars = new Array<string>(this.length);
    let rest = value;
    for (let i = this.length - 1; i >= 0; i--) {
      chars[i] = BASE62_ALPHABET[Number(rest % BASE)] as string;
      rest /= BASE;
    }
    return chars.join('');
  }

  private fromBase62(code: string): bigint | undefined {
    if (code.length !== this.length) return undefined;
    let value = 0n;
    for (const char of code) {
      const digit = BASE62_ALPHABET.indexOf(char);
      if (digit < 0) return undefined;
      value = value * BASE + BigInt(digit);
    }
    return value;
  }
}
