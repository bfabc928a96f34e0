import { readFile, stat } from 'node:fs/promises';
import ipaddr from 'ipaddr.js';

/** What the blocklist reports; the api's pino logger, or a quiet stand-in. */
export interface BlocklistLogger {
  info(data: object, message: string): void;
  warn(data: object, message: string): void;
}

export interface DomainBlocklistOptions {
  /** Domains from URL_BLOCKED_DOMAINS. */
  readonly domains: readonly string[];
  /** URL_BLOCKLIST_FILE: one domain a line, `#` comments. */
  readonly file?: string;
  /** How often the file is checked for changes (URL_BLOCKLIST_POLL_MS). */
  readonly pollMs?: number;
  readonly logger?: BlocklistLogger;
}

const quiet: BlocklistLogger = { info: () => undefined, warn: () => undefined };

/** A host as the WHATWG URL parser spells it, without the trailing dot of a fully qualified name. */
export const bareHost = (hostname: string): string => hostname.replace(/\.$/, '');

const isIpHost = (host: string): boolean =>
  host.startsWith('[') || ipaddr.IPv4.isValidFourPartDecimal(host);

/**
 * `entry` as the host of a URL would be spelled (lower case, IDN in punycode, no trailing dot),
 * or null when it is no host name. A leading `*.` or `.` is dropped: a domain always covers its
 * subdomains.
 */
export function normalizeDomain(entry: string): string | null {
  const trimmed = entry
    .trim()
    .replace(/^\*?\./, '')
    .toLowerCase();
  if (trimmed === '' || /[\s/?#@\\]/.test(trimmed)) return null;
  try {
    const url = new URL(`http://${trimmed}/`);
    if (url.port !== '' || url.hostname === '') return null;
    const host = bareHost(url.hostname);
    return host === '' ? null : host;
  } catch {
    return null;
  }
}

/** The entries of a blocklist file: one domain a line; `#` starts a comment; blank lines skipped. */
export function parseBlocklist(text: string): { domains: string[]; invalid: string[] } {
  const domains: string[] = [];
  const invalid: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const entry = line.replace(/#.*$/, '').trim();
    if (entry === '') continue;
    const domain = normalizeDomain(entry);
    if (domain === null) invalid.push(entry);
    else domains.push(domain);
  }
  return { domains, invalid };
}

/**
 * The domains whose targets snip refuses: URL_BLOCKED_DOMAINS plus the lines of
 * URL_BLOCKLIST_FILE. The file is polled (stat every `pollMs`, read when its size, mtime or inode
 * changed), so edits apply without a restart; a file that cannot be read logs one warning and the
 * last list read from it stays in force.
 */
export class DomainBlocklist {
  private readonly configured: ReadonlySet<string>;
  private fromFile: ReadonlySet<string> = new Set();
  private all: ReadonlySet<string>;
  private signature: string | null = null;
  private failing = false;
  private reading?: Promise<boolean>;
  private timer?: NodeJS.Timeout;
  private readonly logger: BlocklistLogger;

  constructor(private readonly options: DomainBlocklistOptions) {
    this.logger = options.logger ?? quiet;
    const { domains, invalid } = parseBlocklist(options.domains.join('\n'));
    if (invalid.length > 0) {
      this.logger.warn({ invalid }, 'URL_BLOCKED_DOMAINS: entries that are no domain are ignored');
    }
    this.configured = new Set(domains);
    this.all = this.configured;
  }

  /** Every blocked domain, sorted. */
  get domains(): string[] {
    return [...this.all].sort();
  }

  /** The blocked domain that `hostname` (a WHATWG URL hostname) is, or is under; else null. */
  match(hostname: string): string | null {
    if (this.all.size === 0) return null;
    let host = bareHost(hostname.toLowerCase());
    if (isIpHost(host)) return this.all.has(host) ? host : null;
    for (;;) {
      if (this.all.has(host)) return host;
      const dot = host.indexOf('.');
      if (dot < 0) return null;
      host = host.slice(dot + 1);
    }
  }

  /**
   * Reads the file again if it changed since the last read; resolves with whether the list was
   * replaced. Never rejects: a failure is logged (once until the file is readable again).
   */
  reload(): Promise<boolean> {
    this.reading ??= this.readFile().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** Loads the file once and then polls it every `pollMs`. */
  async start(): Promise<void> {
    if (!this.options.file) return;
    await this.reload();
    this.timer ??= setInterval(() => void this.reload(), this.options.pollMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async readFile(): Promise<boolean> {
    const { file } = this.options;
    if (!file) return false;
    try {
      const info = await stat(file);
      const signature = `${info.ino}:${info.size}:${info.mtimeMs}`;
      if (signature === this.signature) return false;
      const { domains, invalid } = parseBlocklist(await readFile(file, 'utf8'));
      this.fromFile = new Set(domains);
      this.all = new Set([...this.configured, ...this.fromFile]);
      this.signature = signature;
      this.failing = false;
      this.logger.info({ file, domains: this.fromFile.size }, 'url blocklist file loaded');
      if (invalid.length > 0) {
        this.logger.warn({ file, invalid }, 'url blocklist file: lines that are no domain ignored');
      }
      return true;
    } catch (error) {
      if (!this.failing) {
        this.logger.warn(
          { err: error, file, domains: this.fromFile.size },
          'url blocklist file cannot be read: the last list read from it stays in force',
        );
      }
      this.failing = true;
      // Read it afresh once it is back, even if it comes back with the same size and mtime.
      this.signature = null;
      return false;
    }
  }
}
