import { dayOfPartition, isExpired, retentionCutoff } from './retention';

describe('retentionCutoff', () => {
  it('keeps today and the `days` days before it, by UTC day', () => {
    expect(retentionCutoff(3, new Date('2026-12-03T08:25:00Z'))).toBe('2026-11-30');
    // The first and the last instant of a UTC day give the same cutoff.
    expect(retentionCutoff(3, new Date('2026-12-03T00:00:00.000Z'))).toBe('2026-11-30');
    expect(retentionCutoff(3, new Date('2026-12-03T23:59:59.999Z'))).toBe('2026-11-30');
    expect(retentionCutoff(3, new Date('2026-12-04T00:00:00.000Z'))).toBe('2026-12-01');
  });

  it('never expires today, crosses months, years and leap days', () => {
    expect(retentionCutoff(1, new Date('2026-12-03T12:00:00Z'))).toBe('2026-12-02');
    expect(retentionCutoff(1, new Date('2027-01-01T00:30:00Z'))).toBe('2026-12-31');
    expect(retentionCutoff(1, new Date('2028-03-01T10:00:00Z'))).toBe('2028-02-29');
    expect(retentionCutoff(365, new Date('2026-12-03T12:00:00Z'))).toBe('2025-12-03');
  });

  it('is off with 0 days and refuses a negative or fractional number', () => {
    expect(retentionCutoff(0, new Date())).toBeUndefined();
    expect(() => retentionCutoff(-1, new Date())).toThrow(RangeError);
    expect(() => retentionCutoff(1.5, new Date())).toThrow(RangeError);
  });
});

describe('isExpired', () => {
  it('is a click of a day before the cutoff, never one on it', () => {
    expect(isExpired('2026-11-29T23:59:59.999Z', '2026-11-30')).toBe(true);
    expect(isExpired('2026-11-30T00:00:00.000Z', '2026-11-30')).toBe(false);
    expect(isExpired('2020-01-01T00:00:00.000Z', undefined)).toBe(false);
  });
});

describe('dayOfPartition', () => {
  const ts = (from: string, to: string) =>
    `FOR VALUES FROM ('${from} 00:00:00+00') TO ('${to} 00:00:00+00')`;

  it('reads the day of a timestamptz or a date day partition', () => {
    expect(dayOfPartition('clicks', 'clicks_20261130', ts('2026-11-30', '2026-12-01'))).toBe(
      '2026-11-30',
    );
    expect(
      dayOfPartition(
        'click_daily_visitors',
        'click_daily_visitors_20261231',
        `FOR VALUES FROM ('2026-12-31') TO ('2027-01-01')`,
      ),
    ).toBe('2026-12-31');
  });

  it('refuses anything else: other names, other tables, other bounds', () => {
    const bound = ts('2026-11-30', '2026-12-01');
    expect(dayOfPartition('clicks', 'clicks_2026113', bound)).toBeUndefined();
    expect(dayOfPartition('clicks', 'clicks_20261130_old', bound)).toBeUndefined();
    expect(dayOfPartition('clicks', 'clicks_archive', bound)).toBeUndefined();
    expect(dayOfPartition('clicks', 'clicksx_20261130', bound)).toBeUndefined();
    expect(dayOfPartition('click', 'clicks_20261130', bound)).toBeUndefined();
    // Not a date, or a name and a bound that disagree.
    expect(dayOfPartition('clicks', 'clicks_20261131', ts('2026-11-31', '2026-12-01'))).toBe(
      undefined,
    );
    expect(dayOfPartition('clicks', 'clicks_20261129', bound)).toBeUndefined();
    // A week, a default partition, a bound in another time zone.
    expect(dayOfPartition('clicks', 'clicks_20261130', ts('2026-11-30', '2026-12-07'))).toBe(
      undefined,
    );
    expect(dayOfPartition('clicks', 'clicks_20261130', 'DEFAULT')).toBeUndefined();
    expect(
      dayOfPartition(
        'clicks',
        'clicks_20261130',
        `FOR VALUES FROM ('2026-11-30 01:00:00+01') TO ('2026-12-01 01:00:00+01')`,
      ),
    ).toBeUndefined();
  });
});
