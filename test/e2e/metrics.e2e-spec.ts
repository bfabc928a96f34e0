import { execFileSync, spawnSync } from 'node:child_process';
import { ROOT, spawnLogs, type SpawnedLogs } from '../support/process';
import { LinksClient } from '../support/http';
import { REDIS_URL } from '../support/services';
import { uniqueName } from '../support/clicks';
import { useTestApi } from '../support/suite';

jest.setTimeout(90_000);

/** Runs `promtool check metrics` on an exposition; resolves with its exit status and findings. */
function promtoolCheck(exposition: string): { status: number | null; findings: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { status: run.status, findings: `${run.stdout}${run.stderr}`.trim() };
}

/**
 * Both apps' /metrics pass Prometheus's own linter, after each has done some work so that its
 * histograms and labelled series exist: what Prometheus scrapes is what promtool accepts.
 */
describe('the /metrics exposition', () => {
  const stream = uniqueName('metrics');
  const env = {
    CLICKS_TRANSPORT: 'redis-streams',
    CLICKS_REDIS_URL: REDIS_URL,
    REDIS_KEY_PREFIX: 'snip-test:',
    CLICKS_STREAM: stream,
    CLICKS_DEAD_LETTER_STREAM: `${stream}:dead`,
    CLICKS_BATCH_INTERVAL_MS: '100',
  };
  const { db, api } = useTestApi({ env });
  let logs: SpawnedLogs | undefined;

  beforeAll(() => {
    // The project's own installer (apt-get prometheus) when promtool is missing.
    execFileSync('bash', ['scripts/tools.sh', 'promtool'], { cwd: ROOT, stdio: 'inherit' });
  });
  afterAll(async () => {
    await logs?.stop();
  });

  it('of the api and the logs worker passes promtool check metrics', async () => {
    logs = await spawnLogs({ ...env, DATABASE_URL: db.url });
    const links = new LinksClient(api.url);
    const link = await links.create({ url: 'https://example.com/metrics' });
    for (let i = 0; i < 5; i++) expect((await links.redirect(`/${link.code}`)).status).toBe(302);
    expect((await links.redirect('/nO-sUch-c0de')).status).toBe(404);

    for (const url of [api.url, logs.url]) {
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      const exposition = await res.text();
      expect(exposition).toContain('process_cpu_user_seconds_total');
      expect({ url, ...promtoolCheck(exposition) }).toEqual({ url, status: 0, findings: '' });
    }
  });
});
