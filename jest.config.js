/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];

const moduleNameMapper = {
  '^@app/(analytics|caching|clicks|config|core|database|http|links|observability|redirect|redis|throttling)$':
    '<rootDir>/libs/$1/src',
};
// NestJS 12 and a few of its dependencies ship ES modules only: let @swc/jest turn them into
// CommonJS too, since Jest on Node 20 cannot require() an ES module itself.
const transformIgnorePatterns = [
  '/node_modules/(?!(@nestjs|cookie|uid|load-esm|file-type|token-types|strtok3|@tokenizer|@borewit|uint8array-extras|@electric-sql|@apidevtools)/)',
];

const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns,
  moduleNameMapper,
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.spec.ts'],
      // One database migrated per run; each suite clones it (createMigratedDatabase).
      globalSetup: '<rootDir>/test/support/integration-setup.ts',
      globalTeardown: '<rootDir>/test/support/integration-teardown.ts',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      // Every response an e2e test receives is checked against the OpenAPI document.
      setupFilesAfterEnv: ['<rootDir>/test/support/contract.ts'],
    },
  ],
};
