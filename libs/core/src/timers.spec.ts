import { sleep, TimeoutError, withTimeout } from './timers';

describe('sleep', () => {
  afterEach(() => jest.useRealTimers());

  it('resolves once the time has passed, not before', async () => {
    jest.useFakeTimers();
    let done = false;
    const slept = sleep(100).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await slept;
    expect(done).toBe(true);
  });

  it('treats a negative time as none', async () => {
    jest.useFakeTimers();
    const slept = sleep(-50);
    await jest.advanceTimersByTimeAsync(0);
    await expect(slept).resolves.toBeUndefined();
  });
});

describe('withTimeout', () => {
  afterEach(() => jest.useRealTimers());

  it('passes the value through and clears its timer', async () => {
    jest.useFakeTimers();
    await expect(withTimeout(Promise.resolve(7), 1000)).resolves.toBe(7);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('passes a rejection through and clears its timer', async () => {
    jest.useFakeTimers();
    await expect(withTimeout(Promise.reject(new Error('boom')), 1000)).rejects.toThrow('boom');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rejects with a TimeoutError carrying the message when the time runs out', async () => {
    jest.useFakeTimers();
    let late: (value: string) => void = () => undefined;
    const never = new Promise<string>((resolve) => (late = resolve));
    const raced = withTimeout(never, 50, 'no answer');
    const outcome = expect(raced).rejects.toEqual(new TimeoutError('no answer'));
    await jest.advanceTimersByTimeAsync(50);
    await outcome;
    await expect(raced).rejects.toBeInstanceOf(TimeoutError);
    late('too late');
  });

  it('names the time in its default message', async () => {
    jest.useFakeTimers();
    const raced = withTimeout(new Promise(() => undefined), 20);
    const outcome = expect(raced).rejects.toThrow('timed out after 20 ms');
    await jest.advanceTimersByTimeAsync(20);
    await outcome;
  });

  it('leaves a late rejection of the promise handled', async () => {
    jest.useFakeTimers();
    let fail: (error: Error) => void = () => undefined;
    const failing = new Promise<never>((_, reject) => (fail = reject));
    const raced = withTimeout(failing, 10);
    const outcome = expect(raced).rejects.toBeInstanceOf(TimeoutError);
    await jest.advanceTimersByTimeAsync(10);
    await outcome;
    jest.useRealTimers();
    const unhandled = jest.fn();
    process.once('unhandledRejection', unhandled);
    fail(new Error('late'));
    await new Promise((done) => setImmediate(done));
    process.removeListener('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });
});
