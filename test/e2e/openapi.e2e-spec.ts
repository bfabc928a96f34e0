import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expectProblem } from '../support/http';
import { ROOT, spawnApi, type SpawnedApi } from '../support/process';

jest.setTimeout(90_000);

interface Operation {
  readonly summary?: string;
  readonly security?: Record<string, string[]>[];
  readonly responses: Record<string, unknown>;
  readonly parameters?: { name: string; in: string; schema?: Record<string, unknown> }[];
}
interface Document {
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: {
    readonly schemas: Record<string, { properties?: Record<string, Record<string, unknown>> }>;
    readonly securitySchemes: Record<string, { description?: string }>;
  };
}

interface LintProblem {
  readonly severity: string;
  readonly ruleId: string;
  readonly message: string;
  readonly pointer: string;
}

const METHODS = new Set(['get', 'head', 'post', 'put', 'patch', 'delete']);

function operations(doc: Document): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]),
  );
}

/**
 * The OpenAPI document describes the server: it passes Redocly's recommended rules with no error,
 * and says what the server does about keys, limits and outages. (Every response the e2e suites
 * receive is also checked against it: test/support/contract.ts.)
 */
describe.each([
  ['AUTH_REQUIRED off', 'false'],
  ['AUTH_REQUIRED on', 'true'],
])('the OpenAPI document with %s', (_name, authRequired) => {
  let api: SpawnedApi;
  let source: string;
  let doc: Document;

  beforeAll(async () => {
    api = await spawnApi({ env: { AUTH_REQUIRED: authRequired } });
    const res = await fetch(`${api.url}/docs-json`);
    expect(res.status).toBe(200);
    source = await res.text();
    doc = JSON.parse(source) as Document;
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('passes the recommended rules of Redocly with no error', () => {
    const output = execFileSync(process.execPath, [join(ROOT, 'test/support/lint-openapi.mjs')], {
      input: source,
      encoding: 'utf8',
    });
    const problems = output
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LintProblem);
    const errors = problems
      .filter((p) => p.severity === 'error')
      .map((p) => `${p.ruleId}: ${p.message} at ${p.pointer}`);
    expect(errors).toEqual([]);
  });

  it('gives every operation a summary, and every API operation 401, 429 and 503 problems', () => {
    const all = operations(doc);
    expect(all.length).toBeGreaterThanOrEqual(12);
    expect(all.filter(([, op]) => !op.summary).map(([name]) => name)).toEqual([]);
    const api = all.filter(([name]) => name.includes(' /api/'));
    for (const [name, op] of api) {
      const statuses = Object.keys(op.responses);
      expect({
        name,
        has: ['400', '401', '429', '503'].filter((s) => statuses.includes(s)),
      }).toEqual({
        name,
        has: ['400', '401', '429', '503'],
      });
    }
  });

  it('documents the redirect, health and metrics routes, which need no key', () => {
    const open = operations(doc).filter(([name]) => !name.includes(' /api/'));
    expect(open.map(([name]) => name).sort()).toEqual([
      'GET /health/live',
      'GET /health/ready',
      'GET /metrics',
      'GET /{code}',
      'HEAD /{code}',
    ]);
    for (const [, op] of open) expect(op.security).toEqual([]);
    expect(Object.keys(doc.paths['/{code}']!.get!.responses)).toEqual(
      expect.arrayContaining(['301', '302', '307', '308', '404', '410', '429', '503']),
    );
  });

  it('says whether a key is required, as the server does', () => {
    const expected = authRequired === 'true' ? [{ 'api-key': [] }] : [{ 'api-key': [] }, {}];
    for (const [name, op] of operations(doc).filter(([n]) => n.includes(' /api/'))) {
      expect({ name, security: op.security }).toEqual({ name, security: expected });
    }
    expect(doc.components.securitySchemes['api-key']!.description).toMatch(
      authRequired === 'true' ? /needs a key/ : /without a key acts as admin/,
    );
  });

  it('states the constraints the server applies', () => {
    const create = doc.components.schemas.CreateLinkDto!.properties!;
    expect(create.url).toMatchObject({ maxLength: 2048, format: 'uri' });
    expect(create.alias).toMatchObject({ minLength: 3, maxLength: 64 });
    expect(create.redirectType).toMatchObject({ type: 'integer', enum: [301, 302, 307, 308] });
    expect(doc.components.schemas.CreateLinkDto).toMatchObject({ additionalProperties: false });
    expect(doc.components.schemas.UpdateLinkDto).toMatchObject({ minProperties: 1 });
    const list = doc.paths['/api/v1/links']!.get!.parameters!;
    expect(list.find((p) => p.name === 'limit')?.schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 100,
    });
    const revoke = doc.paths['/api/v1/api-keys/{id}']!.delete!.parameters!;
    expect(revoke.find((p) => p.name === 'id')?.schema).toMatchObject({ format: 'uuid' });
  });

  it('refuses an empty X-Api-Key as an invalid key, not as no key', async () => {
    const res = await fetch(`${api.url}/api/v1/links`, { headers: { 'X-Api-Key': '' } });
    await expectProblem(res, 401, 'API_KEY_INVALID');
  });
});
