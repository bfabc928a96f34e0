// Lints the OpenAPI document on stdin with Redocly's recommended rules; prints the problems as
// JSON lines ({ severity, ruleId, message, pointer }). A separate process because
// @redocly/openapi-core ships ES modules only, which Jest's CommonJS runtime on Node 20 cannot load.
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { text } from 'node:stream/consumers';

const source = await text(process.stdin);
const config = await createConfig({ extends: ['recommended'] });
const problems = await lintFromString({ source, absoluteRef: 'docs-json.json', config });
for (const p of problems) {
  const pointer = p.location[0]?.pointer ?? '';
  process.stdout.write(
    `${JSON.stringify({ severity: p.severity, ruleId: p.ruleId, message: p.message, pointer })}\n`,
  );
}
