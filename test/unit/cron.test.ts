import { afterEach, describe, expect, it, vi } from 'vitest';
import { startJobs } from '../../src/entry/node-jobs';
import type { Services } from '../../src/gateway/services';
import { JOBS } from '../../src/jobs';
import { nextRun, parseCron } from '../../src/jobs/cron';
import type { Job } from '../../src/jobs/types';

const at = (iso: string): number => Date.parse(iso);
const next = (expression: string, afterIso: string): string => new Date(nextRun(parseCron(expression), at(afterIso))).toISOString();

describe('cron expressions', () => {
  it('finds the next matching minute, strictly after the given time', () => {
    expect(next('* * * * *', '2026-11-25T20:09:25.123Z')).toBe('2026-11-25T20:10:00.000Z');
    expect(next('* * * * *', '2026-11-25T20:10:00.000Z')).toBe('2026-11-25T20:11:00.000Z');
    expect(next('*/5 * * * *', '2026-11-25T20:10:00.000Z')).toBe('2026-11-25T20:15:00.000Z');
    expect(next('*/10 * * * *', '2026-11-25T23:55:00.000Z')).toBe('2026-11-26T00:00:00.000Z');
    expect(next('7 * * * *', '2026-11-25T20:07:00.000Z')).toBe('2026-11-25T21:07:00.000Z');
    expect(next('30 1 1 * *', '2026-11-25T20:00:00.000Z')).toBe('2026-12-01T01:30:00.000Z');
    expect(next('30 1 1 * *', '2026-12-01T01:30:00.000Z')).toBe('2027-01-01T01:30:00.000Z');
  });

  it('reads ranges, lists, stepped ranges and both spellings of Sunday', () => {
    expect(next('15,45 9-17/4 * * *', '2026-11-25T13:45:00.000Z')).toBe('2026-11-25T17:15:00.000Z');
    expect(next('0 0 * * 7', '2026-11-25T00:00:00.000Z')).toBe('2026-11-29T00:00:00.000Z');
    expect(next('0 0 * * 0', '2026-11-25T00:00:00.000Z')).toBe('2026-11-29T00:00:00.000Z');
    expect(next('0 12 * 2 *', '2026-11-25T00:00:00.000Z')).toBe('2027-02-01T12:00:00.000Z');
    expect(next('0 0 29 2 *', '2026-03-01T00:00:00.000Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it('matches either day field when both are restricted, as cron does', () => {
    // 2026-11-25 is a Wednesday: the 1st of December comes after Monday the 30th.
    expect(next('0 0 1 * 1', '2026-11-25T00:00:00.000Z')).toBe('2026-11-30T00:00:00.000Z');
    expect(next('0 0 1 * 1', '2026-11-30T00:00:00.000Z')).toBe('2026-12-01T00:00:00.000Z');
  });

  it('refuses what it cannot read, naming the field', () => {
    expect(() => parseCron('* * * *')).toThrow(/expected 5 fields/);
    expect(() => parseCron('60 * * * *')).toThrow(/minute "60" is outside 0-59/);
    expect(() => parseCron('* 5-2 * * *')).toThrow(/hour "5-2" has a range that runs backwards/);
    expect(() => parseCron('*/0 * * * *')).toThrow(/step that is not a positive integer/);
    expect(() => parseCron('* * * JAN *')).toThrow(/month "JAN" is not a number/);
    expect(() => nextRun(parseCron('0 0 31 2 *'), 0)).toThrow(/never matches/);
  });

  it('reads every schedule in the job table', () => {
    for (const job of JOBS) expect(() => parseCron(job.schedule), job.name).not.toThrow();
  });
});

describe('the Node job runner', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function services(): Services {
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    return { deps: { clock: { now: () => Date.now() }, logger } } as unknown as Services;
  }

  it('runs each job at its matching minutes, with that minute as the scheduled time', async () => {
    vi.useFakeTimers({ now: at('2026-11-25T20:09:30.000Z') });
    const seen: number[] = [];
    const job: Job = { name: 'five', schedule: '*/5 * * * *', description: '', run: async (_, scheduledAt) => (seen.push(scheduledAt), 'ok') };
    const runner = startJobs(services(), [job]);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    await runner.stop();
    expect(seen.map((t) => new Date(t).toISOString())).toEqual(['2026-11-25T20:10:00.000Z', '2026-11-25T20:15:00.000Z']);
  });

  it('skips a tick while the previous run is still going, and stop() waits for it', async () => {
    vi.useFakeTimers({ now: at('2026-11-25T20:00:30.000Z') });
    let started = 0;
    let finish: () => void = () => {};
    const job: Job = {
      name: 'slow',
      schedule: '* * * * *',
      description: '',
      run: () => {
        started++;
        return new Promise((resolve) => (finish = () => resolve('done')));
      },
    };
    const runner = startJobs(services(), [job]);
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(started).toBe(1);
    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(started).toBe(1);
  });

  it('waits out a schedule longer than setTimeout allows', async () => {
    vi.useFakeTimers({ now: at('2026-01-01T02:00:00.000Z') });
    const seen: number[] = [];
    const job: Job = { name: 'monthly', schedule: '30 1 1 * *', description: '', run: async (_, scheduledAt) => (seen.push(scheduledAt), 'ok') };
    const runner = startJobs(services(), [job]);
    await vi.advanceTimersByTimeAsync(30 * 24 * 3_600_000);
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(2 * 24 * 3_600_000);
    await runner.stop();
    expect(seen.map((t) => new Date(t).toISOString())).toEqual(['2026-02-01T01:30:00.000Z']);
  });
});
