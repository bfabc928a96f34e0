import { restartDelayMs } from './cluster';

describe('restartDelayMs', () => {
  it('restarts at once the first time, then backs off doubling from 0.5 s up to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(restartDelayMs)).toEqual([
      0, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });
});
