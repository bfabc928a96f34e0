import { parseArgs } from 'node:util';
import {
  CODE_PATTERN,
  parseSince,
  WARM_ALL_DEFAULT,
  WARM_ALL_MAX,
  WARM_FILE_MAX,
  WARM_SINCE_DEFAULT,
  WARM_TOP_MAX,
  type WarmSelection,
} from '@app/links';

export const CACHE_WARM_USAGE = `usage: npm run cli -- cache:warm (--top N [--since 24h] | --codes FILE | --all [--limit N]) [--l1] [--json]
  --top N        the N links with the most clicks in the window (1 to ${WARM_TOP_MAX})
  --since D      the window of --top: 90m, 24h, 7d (at most 366d; default ${WARM_SINCE_DEFAULT})
  --codes FILE   the codes in FILE, one a line (at most ${WARM_FILE_MAX}); blank and invalid lines are reported
  --all          every live link, by id, up to --limit (default ${WARM_ALL_DEFAULT}, at most ${WARM_ALL_MAX})
  --l1           also tell every running api (and edge) to load them into its in-process cache
  --json         print the result as JSON
`;

export interface WarmCommand {
  readonly selection: WarmSelection;
  readonly l1: boolean;
  readonly json: boolean;
  /** Lines of the codes file that are not codes, `line N: text` (the first 20). */
  readonly rejectedLines: string[];
  readonly rejectedCount: number;
  readonly blankLines: number;
}

/** What is wrong with the command line, for stderr (exit 2). */
export class UsageError extends Error {}

const SHOWN_REJECTED = 20;

function wholeNumber(name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(`--${name} must be a whole number from 1 to ${max}, not "${text}"`);
  }
  return Number(text);
}

/** Parses `cache:warm`'s arguments; `readFile` reads the codes file (its errors are the caller's). */
export function parseWarmArgs(args: string[], readFile: (path: string) => string): WarmCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      options: {
        top: { type: 'string' },
        since: { type: 'string' },
        codes: { type: 'string' },
        all: { type: 'boolean' },
        limit: { type: 'string' },
        l1: { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  const chosen = [values.top, values.codes, values.all].filter((v) => v !== undefined);
  if (chosen.length !== 1) throw new UsageError('give exactly one of --top, --codes and --all');
  if (values.since !== undefined && values.top === undefined) {
    throw new UsageError('--since goes only with --top');
  }
  if (values.limit !== undefined && !values.all)
    throw new UsageError('--limit goes only with --all');
  const common = {
    l1: values.l1 ?? false,
    json: values.json ?? false,
    rejectedLines: [],
    rejectedCount: 0,
    blankLines: 0,
  };
  const top = wholeNumber('top', values.top, WARM_TOP_MAX);
  if (top !== undefined) {
    const since = values.since ?? WARM_SINCE_DEFAULT;
    const sinceMs = parseSince(since);
    if (sinceMs === undefined) {
      throw new UsageError(
        `--since must be minutes, hours or days up to 366d (90m, 24h, 7d), not "${since}"`,
      );
    }
    return { ...common, selection: { kind: 'top', top, sinceMs } };
  }
  if (values.all) {
    const limit = wholeNumber('limit', values.limit, WARM_ALL_MAX) ?? WARM_ALL_DEFAULT;
    return { ...common, selection: { kind: 'all', limit } };
  }
  return { ...common, ...codesOf(readFile(values.codes!)) };
}

function codesOf(
  text: string,
): Pick<WarmCommand, 'selection' | 'rejectedLines' | 'rejectedCount' | 'blankLines'> {
  const codes: string[] = [];
  const rejectedLines: string[] = [];
  let rejectedCount = 0;
  let blankLines = 0;
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') {
      blankLines++;
    } else if (CODE_PATTERN.test(line)) {
      codes.push(line);
    } else {
      rejectedCount++;
      if (rejectedLines.length < SHOWN_REJECTED)
        rejectedLines.push(`line ${i + 1}: ${line.slice(0, 80)}`);
    }
  });
  if (codes.length > WARM_FILE_MAX) {
    throw new UsageError(`the codes file holds ${codes.length} codes: at most ${WARM_FILE_MAX}`);
  }
  if (codes.length === 0) throw new UsageError('the codes file holds no code');
  return { selection: { kind: 'codes', codes }, rejectedLines, rejectedCount, blankLines };
}
