import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import OpenAPIBackend, { type Document, type Operation } from 'openapi-backend';

/**
 * The contract check of the e2e suites (a Jest setup file of the e2e project): every response a
 * test receives through `fetch` from a snip api is checked against the OpenAPI document that same
 * api serves at /docs-json: the status must be documented for the operation, the media type
 * too, and a JSON body must match its schema. A test that received a response the document does
 * not describe fails in its afterEach, so the document and the server drift apart only with a
 * failing test. Paths no operation matches (Swagger UI files, unknown routes) are not checked;
 * processes that serve no document (the logs worker) neither.
 */

interface Contract {
  readonly api: OpenAPIBackend;
  readonly validators: Map<string, ValidateFunction>;
}

interface ResponseObject {
  readonly content?: Record<string, { readonly schema?: object }>;
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);

const realFetch = globalThis.fetch;
const contracts = new Map<string, Promise<Contract | null>>();
const violations: string[] = [];

async function loadContract(origin: string): Promise<Contract | null> {
  try {
    const res = await realFetch(`${origin}/docs-json`);
    if (res.status !== 200) return null;
    const definition = (await res.json()) as Document;
    const api = new OpenAPIBackend({ definition, validate: false, quick: true });
    await api.init();
    return { api, validators: new Map() };
  } catch {
    return null;
  }
}

function contractOf(origin: string): Promise<Contract | null> {
  let contract = contracts.get(origin);
  if (!contract) {
    contract = loadContract(origin);
    contracts.set(origin, contract);
  }
  return contract;
}

function documentedResponse(operation: Operation, status: number): ResponseObject | undefined {
  const responses = (operation.responses ?? {}) as Record<string, ResponseObject>;
  return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
}

/** What is wrong with `res` (body `body`) as an answer to `method path`; null when nothing. */
export function contractViolation(
  contract: Contract,
  method: string,
  path: string,
  status: number,
  contentType: string | null,
  body: string,
): string | null {
  const where = `${method} ${path} -> ${status}`;
  const lookUp = (m: string) => contract.api.matchOperation({ method: m, path, headers: {} });
  // Fastify answers HEAD from the GET route; a HEAD the document lacks is checked as its GET.
  const operation = lookUp(method) ?? (method === 'HEAD' ? lookUp('GET') : undefined);
  if (!operation) return null;
  const response = documentedResponse(operation, status);
  if (!response) return `${where}: status ${status} is not documented for ${operation.operationId}`;
  if (method === 'HEAD' || body.length === 0) return null;
  const mediaType = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const media = response.content?.[mediaType];
  if (!media) {
    const documented = Object.keys(response.content ?? {}).join(', ') || 'no body';
    return `${where}: a ${mediaType || 'typeless'} body, documented: ${documented}`;
  }
  if (!/[/+]json$/.test(mediaType) || !media.schema) return null;
  const key = `${operation.operationId}:${status}:${mediaType}`;
  let validate = contract.validators.get(key);
  if (!validate) {
    validate = ajv.compile(media.schema);
    contract.validators.set(key, validate);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `${where}: the ${mediaType} body is not JSON`;
  }
  if (validate(parsed)) return null;
  return `${where}: ${ajv.errorsText(validate.errors)} in ${body.slice(0, 300)}`;
}

/** Checks one response, recording a violation; never fails the request itself. */
async function check(method: string, url: URL, res: Response): Promise<void> {
  const contract = await contractOf(url.origin);
  if (!contract) return;
  let body = '';
  try {
    body = method === 'HEAD' ? '' : await res.clone().text();
  } catch {
    return; // The body was cut off (the server went away): nothing to hold against the document.
  }
  const violation = contractViolation(
    contract,
    method,
    url.pathname,
    res.status,
    res.headers.get('content-type'),
    body,
  );
  if (violation) violations.push(violation);
}

const isLoopback = (url: URL): boolean =>
  url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';

globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const res = await realFetch(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  // Swagger UI and the document itself are the documentation, not what it documents.
  if (isLoopback(url) && !/^\/docs(?:$|\/|-json$|-yaml$)/.test(url.pathname)) {
    await check(method, url, res);
  }
  return res;
};

afterEach(() => {
  const found = violations.splice(0);
  expect({ responsesTheOpenApiDocumentDoesNotDescribe: found }).toEqual({
    responsesTheOpenApiDocumentDoesNotDescribe: [],
  });
});
