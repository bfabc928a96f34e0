import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DatabaseConfig, LinksConfig } from './config.schema';

const SECRET_FILE = 'short-code-secret';

/**
 * The start-up step that gives a local setup its SHORT_CODE_SECRET: when none is configured (only
 * outside production; the schema requires one there), the secret kept in DATA_DIR, generated there
 * the first time. So codes stay stable across restarts without anyone having to invent a secret to
 * try snip out. Returns the configuration with `links.codeSecret` set; a configured secret wins.
 */
export function withLocalCodeSecret<C extends { links: LinksConfig; database: DatabaseConfig }>(
  config: C,
): C {
  if (config.links.codeSecret) return config;
  const links = Object.assign(new LinksConfig(), config.links, {
    codeSecret: localSecret(config.database.dataDir),
  });
  return { ...config, links };
}

function localSecret(dataDir: string): string {
  const file = join(dataDir, SECRET_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}
