import { describe, expect, it } from 'vitest';
import { RequestsInFlight } from '../../src/entry/node-requests';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `promise` has settled by the time the I/O and timers due now have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await sleep(0);
  return done;
}

describe('RequestsInFlight', () => {
  it('drains when the last request ends', async () => {
    const requests = new RequestsInFlight();
    expect(await settled(requests.drained())).toBe(true);
    requests.begin();
    requests.begin();
    const drained = requests.drained();
    requests.end();
    expect(await settled(drained)).toBe(false);
    requests.end();
    expect(await settled(drained)).toBe(true);
  });

  it('finds a gap at the next turn when no request is in flight', async () => {
    expect(await settled(new RequestsInFlight().gap(60_000))).toBe(true);
  });

  it('waits for the requests in flight to end before the gap', async () => {
    const requests = new RequestsInFlight();
    requests.begin();
    const gap = requests.gap(60_000);
    await sleep(20);
    expect(await settled(gap)).toBe(false);
    requests.end();
    expect(await settled(gap)).toBe(true);
  });

  it('waits again when a request begins in the turn the last one ended', async () => {
    const requests = new RequestsInFlight();
    requests.begin();
    const gap = requests.gap(60_000);
    await sleep(5);
    requests.end();
    requests.begin();
    await sleep(20);
    expect(await settled(gap)).toBe(false);
    requests.end();
    expect(await settled(gap)).toBe(true);
  });

  it('gives up waiting after maxWaitMs under sustained load, and still drains afterwards', async () => {
    const requests = new RequestsInFlight();
    requests.begin();
    const started = performance.now();
    for (let i = 0; i < 20; i++) await requests.gap(2);
    // Twenty waits of about 2 ms each, not one wait for the request to end.
    expect(performance.now() - started).toBeLessThan(5_000);
    const drained = requests.drained();
    expect(await settled(drained)).toBe(false);
    requests.end();
    expect(await settled(drained)).toBe(true);
  });
});
