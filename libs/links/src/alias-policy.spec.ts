import { DomainError } from '@app/core';
import { ALIAS_PATTERN, AliasPolicy, BUILT_IN_RESERVED, CODE_PATTERN } from './alias-policy';

function reservedError(policy: AliasPolicy, alias: string): DomainError | undefined {
  try {
    policy.assertAllowed(alias);
    return undefined;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

describe('AliasPolicy', () => {
  const policy = new AliasPolicy();

  it('reserves every route the api serves itself', () => {
    for (const route of ['api', 'docs', 'docs-json', 'docs-yaml', 'health', 'metrics']) {
      expect(BUILT_IN_RESERVED).toContain(route);
    }
  });

  it.each(['api', 'API', 'Api', 'docs', 'DOCS', 'docs-json', 'Docs-Json', 'health', 'metrics'])(
    'refuses the reserved alias %s, whatever its case',
    (alias) => {
      const error = reservedError(policy, alias);
      expect(error).toBeDefined();
      expect(error!.status).toBe(400);
      expect(error!.code).toBe('ALIAS_RESERVED');
      expect(error!.detail).toContain(alias);
    },
  );

  it.each(['apis', 'my-api', 'docs2', 'healthy', 'metric', 'spring-sale'])(
    'allows the ordinary alias %s',
    (alias) => {
      expect(reservedError(policy, alias)).toBeUndefined();
    },
  );

  it('adds configured reserved words, compared case-insensitively', () => {
    const extra = new AliasPolicy(['Login', 'stats']);
    expect(reservedError(extra, 'login')?.code).toBe('ALIAS_RESERVED');
    expect(reservedError(extra, 'LOGIN')?.code).toBe('ALIAS_RESERVED');
    expect(reservedError(extra, 'Stats')?.code).toBe('ALIAS_RESERVED');
    expect(reservedError(extra, 'api')?.code).toBe('ALIAS_RESERVED');
    expect(reservedError(extra, 'logins')).toBeUndefined();
    // The extra words do not leak into other policies.
    expect(reservedError(policy, 'login')).toBeUndefined();
  });
});

describe('ALIAS_PATTERN', () => {
  it.each(['abc', 'a-b', 'A_b', 'Z09', 'x'.repeat(64), 'Spring-Sale_2030'])('accepts %s', (a) => {
    expect(ALIAS_PATTERN.test(a)).toBe(true);
  });

  it.each(['ab', 'x'.repeat(65), 'a b', 'a/b', 'a.b', 'ünï', 'a%20', '', 'abc\n'])(
    'refuses %j',
    (alias) => {
      expect(ALIAS_PATTERN.test(alias)).toBe(false);
    },
  );

  it('lets every alias through the cheaper code check', () => {
    expect(CODE_PATTERN.test('x'.repeat(64))).toBe(true);
    expect(CODE_PATTERN.test('x'.repeat(65))).toBe(false);
  });
});
