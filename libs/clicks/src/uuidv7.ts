import { randomUUID } from 'node:crypto';

/**
 * `format`, remembering its last answer: clicks come many to a millisecond, so a text made from the
 * time is made once per millisecond, however many clicks share it.
 */
export function oncePerMillisecond(format: (ms: number) => string): (ms: number) => string {
  let lastMs = Number.NaN;
  let last = '';
  return (ms) => {
    if (ms !== lastMs) {
      last = format(ms);
      lastMs = ms;
    }
    return last;
  };
}

/** `tttttttt-tttt-` for the 48-bit millisecond time. */
const timePrefix = oncePerMillisecond((ms) => {
  const time = ms.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-`;
});

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Ids sort by time, and the
 * time in an id is the click's time, which decides its day partition.
 *
 * The random part is taken from a v4 UUID (`crypto.randomUUID`, which draws from a cached pool of
 * random bytes): its last 74 random bits already sit where v7 wants them, behind the same variant
 * bits, so only the time and the version digit are replaced.
 */
export function uuidv7(ms: number = Date.now()): string {
  // v4: xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx; from index 15 on, all but the variant is random.
  return `${timePrefix(ms)}7${randomUUID().slice(15)}`;
}

export const UUID_V7_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Unix milliseconds a UUIDv7 carries. */
export function uuidv7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
