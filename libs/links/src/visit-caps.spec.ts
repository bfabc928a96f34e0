import { LocalVisitCounter } from './visit-caps';

describe('LocalVisitCounter', () => {
  it('reserves exactly maxClicks visits of many at once, reading the database once', async () => {
    let reads = 0;
    const counter = new LocalVisitCounter(async () => {
      reads++;
      await new Promise((settle) => setImmediate(settle));
      return 0;
    });
    const answers = await Promise.all(Array.from({ length: 50 }, () => counter.reserve('1', 10)));
    expect(answers.filter((a) => a === 'reserved')).toHaveLength(10);
    expect(answers.filter((a) => a === 'exhausted')).toHaveLength(40);
    expect(reads).toBe(1);
  });

  it('starts from the clicks the database has stored, and follows a changed cap', async () => {
    const counter = new LocalVisitCounter(() => Promise.resolve(8));
    expect(await counter.reserve('1', 10)).toBe('reserved');
    expect(await counter.reserve('1', 10)).toBe('reserved');
    expect(await counter.reserve('1', 10)).toBe('exhausted');
    // A raised cap gives more visits at once; the counter itself never passed the old one.
    expect(await counter.reserve('1', 11)).toBe('reserved');
    expect(await counter.reserve('1', 11)).toBe('exhausted');
  });

  it('keeps links apart, and passes a failed database read on (to be answered as an outage)', async () => {
    const counter = new LocalVisitCounter((linkId) =>
      linkId === 'down' ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve(0),
    );
    await expect(counter.reserve('down', 1)).rejects.toThrow('ECONNREFUSED');
    expect(await counter.reserve('a', 1)).toBe('reserved');
    expect(await counter.reserve('b', 1)).toBe('reserved');
    expect(await counter.reserve('a', 1)).toBe('exhausted');
  });
});
