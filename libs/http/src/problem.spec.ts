import {
  BadRequestException,
  HttpException,
  NotFoundException,
  PayloadTooLargeException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { errorCodes } from 'fastify';
import { DomainError, MAX_LISTED_ERRORS, translateError, ValidationFailedError } from '@app/core';
import { toProblem } from './problem';

describe('toProblem', () => {
  it('keeps a domain error as it is, with its extensions', () => {
    const problem = toProblem(
      new DomainError('LINK_GONE', 'The link "abc" is expired.', {
        reason: 'expired',
      }),
    );
    expect(problem).toEqual({
      type: 'urn:snip:problem:link-gone',
      title: 'Link no longer available',
      status: 410,
      detail: 'The link "abc" is expired.',
      code: 'LINK_GONE',
      reason: 'expired',
    });
  });

  it('lists every invalid field of a validation failure', () => {
    const problem = toProblem(
      new ValidationFailedError([
        { field: 'url', message: 'must be a string' },
        { field: 'alias', message: 'too short' },
      ]),
    );
    expect(problem.status).toBe(400);
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.type).toBe('urn:snip:problem:validation-failed');
    expect(problem.errors).toEqual([
      { field: 'url', message: 'must be a string' },
      { field: 'alias', message: 'too short' },
    ]);
    expect(problem.detail).toBe('url: must be a string; alias: too short');
  });

  it.each([
    [new NotFoundException('Cannot GET /x/y'), 404, 'NOT_FOUND', 'Cannot GET /x/y'],
    [new BadRequestException('nope'), 400, 'BAD_REQUEST', 'nope'],
    [new PayloadTooLargeException(), 413, 'PAYLOAD_TOO_LARGE', 'Payload Too Large'],
    [new HttpException('teapot', 418), 418, 'BAD_REQUEST', 'teapot'],
    [new HttpException('slow down', 429), 429, 'RATE_LIMITED', 'slow down'],
  ])('maps the HttpException %p to %i %s', (error, status, code, detail) => {
    const problem = toProblem(error);
    expect(problem.status).toBe(status);
    expect(problem.code).toBe(code);
    expect(problem.detail).toBe(detail);
    expect(problem.type).toBe(`urn:snip:problem:${code.toLowerCase().replace(/_/g, '-')}`);
  });

  it('keeps a 503 a 503', () => {
    const problem = toProblem(new ServiceUnavailableException('database down'));
    expect(problem.status).toBe(503);
    expect(problem.code).toBe('SERVICE_UNAVAILABLE');
  });

  it.each([
    [new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), 413, 'PAYLOAD_TOO_LARGE'],
    [new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE('text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), 400, 'MALFORMED_JSON'],
    [new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), 400, 'MALFORMED_JSON'],
    [new errorCodes.FST_ERR_BAD_URL('/%E0%A4%A'), 400, 'MALFORMED_URL'],
    [new errorCodes.FST_ERR_MAX_PARAM_LENGTH(500, '/:code'), 414, 'URI_TOO_LONG'],
  ])('maps the Fastify error %p to %i %s', (error, status, code) => {
    const problem = toProblem(error);
    expect(problem.status).toBe(status);
    expect(problem.code).toBe(code);
    expect(problem.detail.length).toBeGreaterThan(0);
  });

  it('maps a Fastify error Nest wrapped in an HttpException by its cause', () => {
    const wrapped = new HttpException('Request body is too large', 413, {
      cause: new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(),
    });
    expect(toProblem(wrapped)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it.each([
    ['an Error', new Error('password authentication failed for user "snip" at 10.0.0.5')],
    ['a TypeError', new TypeError("Cannot read properties of null (reading 'toLowerCase')")],
    ['a database error with a code', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a string', 'something broke'],
    ['undefined', undefined],
    ['an HttpException 500', new HttpException('stack trace here', 500)],
    ['an HttpException 502', new HttpException('upstream 10.0.0.7 refused', 502)],
  ])('turns %s into a 500 that reveals nothing', (_, error) => {
    const problem = toProblem(error);
    expect(problem).toEqual({
      type: 'urn:snip:problem:internal-error',
      title: 'Internal server error',
      status: 500,
      detail: 'Something went wrong on our side. Quote the request id when you report it.',
      code: 'INTERNAL_ERROR',
    });
  });
});

describe('translateError', () => {
  const outage = new DomainError(
    'DATABASE_UNAVAILABLE',
    'Retry.',
    {},
    {
      'retry-after': '5',
    },
  );
  const translators = [
    (error: unknown) => (error instanceof RangeError ? outage : undefined),
    () => undefined,
  ];

  it('returns the first translation, headers included', () => {
    expect(translateError(new RangeError('refused'), translators)).toBe(outage);
    expect(outage.headers).toEqual({ 'retry-after': '5' });
  });

  it('leaves errors no translator knows, and domain errors, as they are', () => {
    expect(translateError(new Error('bug'), translators)).toBeUndefined();
    expect(translateError(new DomainError('NOT_FOUND', 'No.'), translators)).toBeUndefined();
    expect(translateError(new RangeError('refused'), [])).toBeUndefined();
  });
});

describe('ValidationFailedError', () => {
  const fields = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ field: `k${i}`, message: 'should not exist' }));

  it(`lists the first ${MAX_LISTED_ERRORS} errors and counts them all`, () => {
    const problem = toProblem(new ValidationFailedError(fields(2000)));
    expect(problem.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(problem).toMatchObject({ errorsTruncated: true, errorCount: 2000 });
    expect(problem.detail).toMatch(/; and 1980 more$/);
    expect(JSON.stringify(problem).length).toBeLessThan(4096);
  });

  it(`says nothing of truncation up to ${MAX_LISTED_ERRORS} errors`, () => {
    const problem = toProblem(new ValidationFailedError(fields(MAX_LISTED_ERRORS)));
    expect(problem.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(problem).not.toHaveProperty('errorsTruncated');
    expect(problem).not.toHaveProperty('errorCount');
  });
});
