import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { ProblemDocument } from '@app/http';

/** What every snip error looks like on the wire: the problem document, always with its `requestId`. */
export type Problem = ProblemDocument & { readonly requestId: string };

/** The link representation of the REST API. */
export interface LinkBody {
  readonly code: string;
  readonly shortUrl: string;
  readonly url: string;
  readonly alias?: string;
  readonly redirectType: number;
  readonly expiresAt: string | null;
  readonly disabled: boolean;
  readonly maxClicks: number | null;
  readonly clicks: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * Sends a request exactly as given, path included (fetch would normalise a path such as
 * `/%E0%A4%A`), and resolves with the whole response.
 */
export function rawRequest(
  baseUrl: string,
  options: {
    readonly method?: string;
    readonly path: string;
    readonly headers?: Record<string, string>;
    readonly body?: string | Buffer;
  },
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((done, fail) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          done({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(options.body);
  });
}

/**
 * Asserts that `res` is a problem+json error with `status` and `code`, whose requestId is the
 * `x-request-id` header, and returns the document.
 */
export async function expectProblem(res: Response, status: number, code: string): Promise<Problem> {
  const text = await res.text();
  expect({ status: res.status, body: text }).toMatchObject({ status });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json\b/);
  const problem = JSON.parse(text) as Problem;
  checkProblem(problem, status, code, res.headers.get('x-request-id'));
  return problem;
}

/** expectProblem for a response of rawRequest. */
export function expectRawProblem(res: RawResponse, status: number, code: string): Problem {
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  const problem = JSON.parse(res.body) as Problem;
  const header = res.headers['x-request-id'];
  checkProblem(problem, status, code, typeof header === 'string' ? header : null);
  return problem;
}

function checkProblem(
  problem: Problem,
  status: number,
  code: string,
  requestIdHeader: string | null,
): void {
  expect(problem).toMatchObject({ status, code });
  expect(problem.type).toBe(`urn:snip:problem:${code.toLowerCase().replace(/_/g, '-')}`);
  expect(typeof problem.title).toBe('string');
  expect(problem.title.length).toBeGreaterThan(0);
  expect(typeof problem.detail).toBe('string');
  expect(problem.detail.length).toBeGreaterThan(0);
  expect(requestIdHeader).toBeTruthy();
  expect(problem.requestId).toBe(requestIdHeader);
}

/** A small client for the links API of one running api. */
export class LinksClient {
  constructor(readonly baseUrl: string) {}

  post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.baseUrl}/api/v1/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  async create(body: Record<string, unknown>): Promise<LinkBody> {
    const res = await this.post(body);
    const text = await res.text();
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${text}`);
    return JSON.parse(text) as LinkBody;
  }

  get(code: string): Promise<Response> {
    return fetch(`${this.baseUrl}/api/v1/links/${code}`);
  }

  list(query = ''): Promise<Response> {
    return fetch(`${this.baseUrl}/api/v1/links${query}`);
  }

  patch(code: string, body: unknown): Promise<Response> {
    return fetch(`${this.baseUrl}/api/v1/links/${code}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  delete(code: string): Promise<Response> {
    return fetch(`${this.baseUrl}/api/v1/links/${code}`, { method: 'DELETE' });
  }

  redirect(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.baseUrl}${path}`, { redirect: 'manual', ...init });
  }
}
