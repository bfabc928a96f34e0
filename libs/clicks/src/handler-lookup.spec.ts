import type { MessageHandler } from '@nestjs/microservices';
import { memoizeHandlerLookup } from './handler-lookup';

describe('memoizeHandlerLookup', () => {
  const handler = (() => Promise.resolve()) as unknown as MessageHandler;

  it('asks once per pattern, remembering a missing handler too', () => {
    const asked: string[] = [];
    const lookup = memoizeHandlerLookup((pattern) => {
      asked.push(pattern);
      return pattern === 'click' ? handler : null;
    });
    expect(lookup('click')).toBe(handler);
    expect(lookup('click')).toBe(handler);
    expect(lookup('other')).toBeNull();
    expect(lookup('other')).toBeNull();
    expect(asked).toEqual(['click', 'other']);
  });

  it('stops remembering past 100 patterns, still answering each', () => {
    let asked = 0;
    const lookup = memoizeHandlerLookup(() => {
      asked += 1;
      return null;
    });
    for (let i = 0; i < 150; i++) lookup(`p${i}`);
    for (let i = 0; i < 150; i++) lookup(`p${i}`);
    expect(asked).toBe(150 + 50);
  });
});
