import { randomBytes } from 'node:crypto';

/** A Redis key prefix of its own, so test files (and runs) never share keys. */
export const uniquePrefix = (name: string): string =>
  `snip-it-${name}-${randomBytes(4).toString('hex')}:`;

/** The value of one series on `baseUrl`'s /metrics, 0 when it has not been written yet. */
export async function metricValue(
  baseUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const open = line.indexOf('{');
    const labelText = open < 0 ? '' : line.slice(open + 1, line.indexOf('}'));
    const present = labelText === '' ? [] : labelText.split(',');
    if (wanted.every((label) => present.includes(label)) && present.length === wanted.length) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

/** JSON request helper for the REST API. */
export async function api(
  baseUrl: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers['x-api-key'] = options.key;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(baseUrl + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** GET /<code> without following the redirect. */
export const visit = (baseUrl: string, code: string, headers: Record<string, string> = {}) =>
  fetch(`${baseUrl}/${code}`, { redirect: 'manual', headers });
