import { join } from 'node:path';
import { loadLogsConfig } from './config';

const CONFIG_DIR = join(__dirname, '../../../config');

describe('loadLogsConfig', () => {
  it("starts in production without the api's keys (PUBLIC_BASE_URL, SHORT_CODE_SECRET)", () => {
    const config = loadLogsConfig({
      SNIP_PROFILE: 'production',
      SNIP_CONFIG_DIR: CONFIG_DIR,
      DATABASE_URL: 'postgres://snip@db:5432/snip',
    });
    expect(config.app.profile).toBe('production');
    expect(Object.keys(config).sort()).toEqual([
      'app',
      'clickIngest',
      'clickhouse',
      'clicks',
      'database',
      'redis',
      'worker',
    ]);
  });

  it("does not validate the api's keys", () => {
    const config = loadLogsConfig({
      SNIP_PROFILE: 'test',
      SNIP_CONFIG_DIR: CONFIG_DIR,
      PORT: 'abc',
      PUBLIC_BASE_URL: 'ftp://sn.ip',
      SWAGGER_ENABLED: 'maybe',
    });
    expect(config.worker.port).toBe(3001);
  });
});
