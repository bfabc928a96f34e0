import { join } from 'node:path';
import { ConfigError } from '@app/config';
import { loadApiConfig } from './config';

const CONFIG_DIR = join(__dirname, '../../../config');
const PRODUCTION = {
  SNIP_PROFILE: 'production',
  SNIP_CONFIG_DIR: CONFIG_DIR,
  DATABASE_URL: 'postgres://snip@db:5432/snip',
  SHORT_CODE_SECRET: 'a-secret-of-enough-length',
};

describe('loadApiConfig', () => {
  it('refuses production without PUBLIC_BASE_URL, naming it', () => {
    let problems: readonly string[] = [];
    try {
      loadApiConfig(PRODUCTION);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual([
      'PUBLIC_BASE_URL: is required in the production profile (it is the origin of every shortUrl)',
    ]);
  });

  it('reads the api server keys in production when PUBLIC_BASE_URL is set', () => {
    const config = loadApiConfig({ ...PRODUCTION, PUBLIC_BASE_URL: 'https://sn.ip' });
    expect(config.api).toMatchObject({
      port: 3000,
      publicBaseUrl: 'https://sn.ip',
      swaggerEnabled: true,
      redirectAccessLogSampleRate: 0,
    });
  });
});
