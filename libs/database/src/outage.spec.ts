import type { Logger } from '@app/observability';
import { QueryFailedError } from 'typeorm';
import { databaseUnreachableCause, DatabaseReachability, DatabaseUnavailableError } from './outage';

const withCode = (message: string, code: string): Error =>
  Object.assign(new Error(message), { code });

function recordingLogger(): { logger: Logger; lines: Array<[string, string]> } {
  const lines: Array<[string, string]> = [];
  const at =
    (level: string) =>
    (_fields: unknown, msg: string): void => {
      lines.push([level, msg]);
    };
  const logger = { warn: at('warn'), info: at('info'), error: at('error') } as unknown as Logger;
  return { logger, lines };
}

describe('databaseUnreachableCause', () => {
  it.each([
    [
      'a refused connection',
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      'ECONNREFUSED',
    ],
    ['a reset connection', withCode('read ECONNRESET', 'ECONNRESET'), 'ECONNRESET'],
    ['a socket time-out', withCode('connect ETIMEDOUT', 'ETIMEDOUT'), 'ETIMEDOUT'],
    [
      'the pool connect time-out',
      new Error('timeout exceeded when trying to connect'),
      'CONNECT_TIMEOUT',
    ],
    ['the client query time-out', new Error('Query read timeout'), 'QUERY_TIMEOUT'],
    [
      'a dropped connection',
      new Error('Connection terminated unexpectedly'),
      'CONNECTION_TERMINATED',
    ],
    ['SQLSTATE class 08', withCode('connection failure', '08006'), '08006'],
    [
      'an admin shutdown',
      withCode('terminating connection due to administrator command', '57P01'),
      '57P01',
    ],
    ['a server starting up', withCode('the database system is starting up', '57P03'), '57P03'],
    [
      'several addresses all refused',
      Object.assign(new AggregateError([withCode('refused', 'ECONNREFUSED')]), {}),
      'ECONNREFUSED',
    ],
  ])('recognises %s', (_what, error, cause) => {
    expect(databaseUnreachableCause(error)).toBe(cause);
  });

  it('sees through the TypeORM wrapper', () => {
    const wrapped = new QueryFailedError('SELECT 1', [], new Error('Query read timeout'));
    expect(databaseUnreachableCause(wrapped)).toBe('QUERY_TIMEOUT');
  });

  it.each([
    ['a unique violation', withCode('duplicate key value', '23505')],
    ['a syntax error', withCode('syntax error at or near', '42601')],
    ['a plain bug', new TypeError('undefined is not a function')],
    ['a non-error', 'boom'],
    ['nothing', undefined],
  ])('leaves %s alone', (_what, error) => {
    expect(databaseUnreachableCause(error)).toBeUndefined();
  });
});

describe('DatabaseReachability', () => {
  it('translates an unreachable database to a 503 with Retry-After and nothing else', () => {
    const { logger } = recordingLogger();
    const reachability = new DatabaseReachability(logger);
    const translated = reachability.translate(new Error('Query read timeout'));
    expect(translated).toBeInstanceOf(DatabaseUnavailableError);
    expect(translated).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
    expect(translated?.headers).toEqual({ 'retry-after': '5' });
    expect(reachability.translate(withCode('duplicate key value', '23505'))).toBeUndefined();
  });

  it('logs once when the database goes and once when it is back, however many requests fail', () => {
    const { logger, lines } = recordingLogger();
    const reachability = new DatabaseReachability(logger);
    for (let i = 0; i < 5; i++) reachability.translate(withCode('refused', 'ECONNREFUSED'));
    expect(reachability.reachable).toBe(false);
    reachability.reached();
    reachability.reached();
    for (let i = 0; i < 3; i++) reachability.translate(new Error('Query read timeout'));
    expect(lines).toEqual([
      ['warn', 'database unreachable'],
      ['info', 'database reachable again'],
      ['warn', 'database unreachable'],
    ]);
  });
});
