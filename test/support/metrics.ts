import { randomBytes } from 'node:crypto';

/** A Redis key prefix of its own, so test files (and runs) never share keys. */
export const uniquePrefix = (name: string): string =>
  `snip-it-${name}-${randomBytes(4).toString('hex')}:`;

/**
 * The sum of a Prometheus series on `baseUrl`'s /metrics over every label combination that carries
 * `labels` (all of them by default); 0 when it has not been written yet.
 */
export async function metric(
  baseUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) {
      sum += Number(match[3]);
    }
  }
  return sum;
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
