import { randomFillSync } from 'node:crypto';

/** Random bytes drawn in blocks: one syscall per 409 ids instead of one per id. */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomBytes10(): Buffer {
  if (poolOffset + 10 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + 10);
  poolOffset += 10;
  return bytes;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Ids sort by time, and the
 * time in an id is the click's time, which decides its day partition.
 */
export function uuidv7(ms: number = Date.now()): string {
  const random = randomBytes10();
  const time = ms.toString(16).padStart(12, '0');
  const b = (i: number): string => HEX[random[i]!]!;
  // version 7 in the high nibble of byte 6, variant 10 in the high bits of byte 8.
  const version = HEX[(random[0]! & 0x0f) | 0x70]!;
  const variant = HEX[(random[2]! & 0x3f) | 0x80]!;
  return (
    `${time.slice(0, 8)}-${time.slice(8, 12)}-${version}${b(1)}-${variant}${b(3)}-` +
    `${b(4)}${b(5)}${b(6)}${b(7)}${b(8)}${b(9)}`
  );
}

export const UUID_V7_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Unix milliseconds a UUIDv7 carries. */
export function uuidv7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
