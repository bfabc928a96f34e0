import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
  type OpenAPIObject,
} from '@nestjs/swagger';
import type { OperationObject, ResponseObject } from '@nestjs/swagger';
import type { AuthConfig, LinksConfig } from '@app/config';

/**
 * What the OpenAPI document says beyond the controllers' own decorators: the problem+json
 * schema every error uses, the responses every API route can give, and the routes that are not
 * Nest controllers (the redirect, /metrics). One place, so the document and the server are
 * described together; the e2e suites check every response they receive against the result.
 */

const PROBLEM_MEDIA_TYPE = 'application/problem+json';

class FieldProblemSchema {
  @ApiProperty({ example: 'url' }) field!: string;
  @ApiProperty({ example: 'must be a string' }) message!: string;
}

/** RFC 9457 problem details, with snip's stable `code` and the request id. */
class ProblemSchema {
  @ApiProperty({ example: 'urn:snip:problem:link-not-found' }) type!: string;
  @ApiProperty({ example: 'Link not found' }) title!: string;
  @ApiProperty({ example: 404, minimum: 400, maximum: 599 }) status!: number;
  @ApiProperty({ example: 'No link has the code "abc1234".' }) detail!: string;
  @ApiProperty({
    description: 'Stable, upper-case error code: branch on this, never on `detail`',
    example: 'LINK_NOT_FOUND',
    pattern: '^[A-Z][A-Z0-9_]*$',
  })
  code!: string;
  @ApiPropertyOptional({ description: 'The request path', example: '/api/v1/links/abc1234' })
  instance?: string;
  @ApiPropertyOptional({ description: 'Also sent as the x-request-id header' })
  requestId?: string;
  @ApiPropertyOptional({
    type: [FieldProblemSchema],
    description: 'VALIDATION_FAILED: the invalid fields, at most 20',
  })
  errors?: FieldProblemSchema[];
  @ApiPropertyOptional({ description: 'RATE_LIMITED: seconds until a retry can succeed' })
  retryAfter?: number;
}

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
} as const;

/** A problem+json response with `status`; `codes` lists the stable codes it can carry. */
export function ApiProblem(status: number, codes: string, headers?: 'retry-after') {
  return applyDecorators(
    ApiExtraModels(ProblemSchema),
    ApiResponse({
      status,
      description: codes,
      content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: getSchemaPath(ProblemSchema) } } },
      ...(headers ? { headers: RETRY_AFTER } : {}),
    }),
  );
}

/** The `{code}` path parameter of the links routes. */
export const CODE_PARAM = {
  name: 'code',
  description: 'The short code or alias',
  schema: { type: 'string', minLength: 1, maxLength: 100 },
} as const;

/** The problems of a route that takes a JSON body; `codes` are its own 400 codes. */
export const ApiBodyProblems = (codes: string) =>
  applyDecorators(
    ApiProblem(400, `${codes}, MALFORMED_JSON, BAD_REQUEST`),
    ApiProblem(413, 'PAYLOAD_TOO_LARGE: the body is over HTTP_BODY_LIMIT_BYTES'),
    ApiProblem(415, 'UNSUPPORTED_MEDIA_TYPE: send application/json'),
  );

/** The problems any /api/v1 route can answer, whatever it does. */
export const ApiCommonProblems = () =>
  applyDecorators(
    ApiProblem(400, 'BAD_REQUEST (a malformed request, such as an invalid Content-Length)'),
    ApiProblem(
      401,
      'API_KEY_MISSING (no key while AUTH_REQUIRED is on), API_KEY_INVALID (unknown, revoked, expired or empty key)',
    ),
    ApiProblem(429, 'RATE_LIMITED', 'retry-after'),
    ApiProblem(500, 'INTERNAL_ERROR'),
    ApiProblem(503, 'DATABASE_UNAVAILABLE, SERVICE_UNAVAILABLE', 'retry-after'),
  );

const problemContent = {
  [PROBLEM_MEDIA_TYPE]: { schema: { $ref: '#/components/schemas/ProblemSchema' } },
};
const problem = (description: string, withRetryAfter = false): ResponseObject => ({
  description,
  content: problemContent,
  ...(withRetryAfter ? { headers: RETRY_AFTER } : {}),
});

const redirectTo = (description: string): ResponseObject => ({
  description,
  headers: {
    Location: {
      description: 'The target, with the request query merged in',
      schema: { type: 'string', format: 'uri' },
    },
    'Cache-Control': {
      description: 'Per LINK_CACHE_CONTROL and the link',
      schema: { type: 'string' },
    },
  },
});

const errorPageOrProblem = (description: string): ResponseObject => ({
  description: `${description}. Browsers (Accept: text/html) get a small HTML page, other clients problem+json.`,
  content: { ...problemContent, 'text/html': { schema: { type: 'string' } } },
});

function redirectOperation(method: 'GET' | 'HEAD'): OperationObject {
  return {
    operationId: `redirect${method === 'GET' ? 'Get' : 'Head'}`,
    tags: ['redirect'],
    summary: method === 'GET' ? 'Follow a short link' : 'Follow a short link without a body',
    description:
      'Redirects to the link target and records a click (never waiting for it to be stored). ' +
      'Needs no API key. The query string of the request is merged into the target URL. A link ' +
      'with `maxClicks` redirects that many times in all, across every instance, then answers ' +
      '410 LINK_EXHAUSTED.',
    security: [],
    parameters: [
      {
        name: 'code',
        in: 'path',
        required: true,
        description: 'The short code or alias',
        schema: { type: 'string', maxLength: 100 },
      },
    ],
    responses: {
      '301': redirectTo('Moved permanently (the link redirectType)'),
      '302': redirectTo('Found (the default redirectType)'),
      '307': redirectTo('Temporary redirect'),
      '308': redirectTo('Permanent redirect'),
      '400': problem('MALFORMED_URL: the path is not valid percent-encoding'),
      '404': errorPageOrProblem('LINK_NOT_FOUND: no such code'),
      '410': errorPageOrProblem(
        'LINK_GONE: disabled or expired (`reason` says which), LINK_EXHAUSTED: its `maxClicks` redirects are spent',
      ),
      '414': problem('URI_TOO_LONG'),
      '429': problem('RATE_LIMITED: the per-IP redirect limit is spent', true),
      '500': problem('INTERNAL_ERROR'),
      '503': errorPageOrProblem(
        'DATABASE_UNAVAILABLE: not cached and the database is down, VISIT_LIMIT_UNAVAILABLE: a link with `maxClicks` while Redis is unreachable (`Retry-After`)',
      ),
    },
  };
}

const metricsOperation: OperationObject = {
  operationId: 'metrics',
  tags: ['operations'],
  summary: 'Prometheus metrics',
  description: 'Prometheus text exposition format. Needs no API key.',
  security: [],
  responses: {
    '200': {
      description: 'The metrics',
      content: { 'text/plain': { schema: { type: 'string' } } },
    },
  },
};

/**
 * Completes the document the controllers produced: security as AUTH_REQUIRED has it, the redirect
 * and /metrics routes, and the ProblemSchema name every problem response refers to.
 */
export function completeDocument(
  document: OpenAPIObject,
  auth: AuthConfig,
  links: LinksConfig,
): OpenAPIObject {
  const schemas = document.components?.schemas ?? {};
  // Request bodies: unknown fields are refused (VALIDATION_FAILED), a change needs one field.
  for (const name of ['CreateLinkDto', 'UpdateLinkDto', 'CreateApiKeyDto']) {
    const schema = schemas[name];
    if (schema && !('$ref' in schema)) schema.additionalProperties = false;
  }
  const update = schemas.UpdateLinkDto;
  if (update && !('$ref' in update)) update.minProperties = 1;
  for (const name of ['CreateLinkDto', 'UpdateLinkDto']) {
    const schema = schemas[name];
    const url = schema && !('$ref' in schema) ? schema.properties?.url : undefined;
    if (url && !('$ref' in url)) url.maxLength = links.urlMaxLength;
  }
  const keyScheme = document.components?.securitySchemes?.['api-key'];
  if (keyScheme && 'type' in keyScheme) {
    keyScheme.description = auth.required
      ? 'Every /api/v1 route needs a key (AUTH_REQUIRED is on on this server).'
      : 'This server has AUTH_REQUIRED off: a request without a key acts as admin. A key that ' +
        'is sent must be valid (401 otherwise), and decides the role and the rate limit.';
  }
  // With AUTH_REQUIRED off, a key is optional: the empty requirement says "or none".
  const security: Record<string, string[]>[] = auth.required
    ? [{ 'api-key': [] }]
    : [{ 'api-key': [] }, {}];
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith('/api/')) continue;
    for (const operation of Object.values(item) as OperationObject[]) {
      if (typeof operation === 'object' && operation && 'responses' in operation) {
        operation.security = security;
      }
    }
  }
  document.paths['/metrics'] = { get: metricsOperation };
  document.paths['/{code}'] = { get: redirectOperation('GET'), head: redirectOperation('HEAD') };
  return document;
}
