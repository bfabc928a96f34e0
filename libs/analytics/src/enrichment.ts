import { isIP } from 'node:net';
import { isbot } from 'isbot';
import { LRUCache } from 'lru-cache';
import { UAParser } from 'ua-parser-js';
import type { ClickEvent } from '@app/clicks';

/** A click as stored: the event plus what the worker derived from it. */
export interface ClickRow {
  readonly id: string;
  readonly occurredAt: string;
  readonly linkId: string;
  readonly code: string;
  readonly method: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly referrer: string | null;
  readonly referrerHost: string | null;
  readonly acceptLanguage: string | null;
  readonly country: string | null;
  readonly browser: string | null;
  readonly os: string | null;
  readonly deviceType: string;
  readonly isBot: boolean;
  /**
   * The visitor of the click's UTC day (16 hex characters, see visitors.ts), set by the ingest
   * service from the day's salt; null until then (a row without one counts no visitor).
   */
  readonly visitorId: string | null;
}

/** ISO 3166 country of an (anonymised) address, or null. */
export type CountryLookup = (ip: string) => string | null;

interface Agent {
  readonly browser: string | null;
  readonly os: string | null;
  readonly deviceType: string;
  readonly bot: boolean;
}

const clip = (value: string | undefined, max: number): string | null =>
  value ? value.slice(0, max) : null;

/** Loads the geoip-lite database; only where clicks are stored (see decision 37). */
export async function loadCountryLookup(): Promise<CountryLookup> {
  const geoip = await import('geoip-lite');
  const lookup = geoip.default?.lookup ?? geoip.lookup;
  return (ip) => lookup(ip)?.country || null;
}

/** The host of a referrer URL, lower case, or null when it is not an absolute URL. */
export function referrerHost(referrer: string | null): string | null {
  if (!referrer) return null;
  try {
    const host = new URL(referrer).hostname.toLowerCase();
    return host === '' ? null : host.slice(0, 255);
  } catch {
    return null;
  }
}

/**
 * Derives device, browser, OS, bot flag, country and referrer host from a click. Parsed user agents
 * are cached, since they repeat a lot (see decision 37).
 */
export class ClickEnricher {
  private readonly agents = new LRUCache<string, Agent>({ max: 20_000 });

  constructor(private readonly country: CountryLookup) {}

  enrich(event: ClickEvent): ClickRow {
    const agent = this.agent(event.ua);
    return {
      id: event.id,
      occurredAt: event.ts,
      linkId: event.linkId,
      code: event.code,
      method: event.method,
      ip: event.ip,
      userAgent: event.ua,
      referrer: event.referrer,
      referrerHost: referrerHost(event.referrer),
      acceptLanguage: event.lang,
      country: event.ip && isIP(event.ip) !== 0 ? this.country(event.ip) : null,
      browser: agent.browser,
      os: agent.os,
      deviceType: agent.deviceType,
      // A HEAD request fetches no page: link checkers and preview bots, not people.
      isBot: agent.bot || event.method === 'HEAD',
      visitorId: null,
    };
  }

  private agent(ua: string | null): Agent {
    if (!ua) return { browser: null, os: null, deviceType: 'unknown', bot: true };
    let agent = this.agents.get(ua);
    if (!agent) {
      const parsed = new UAParser(ua).getResult();
      const bot = isbot(ua);
      agent = {
        browser: clip(parsed.browser.name, 64),
        os: clip(parsed.os.name, 64),
        deviceType: parsed.device.type ?? (bot ? 'bot' : 'desktop'),
        bot,
      };
      this.agents.set(ua, agent);
    }
    return agent;
  }
}
