import { sql } from 'drizzle-orm';
import { quantileSorted } from 'simple-statistics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bucketRepresentative,
  emptyHistogram,
  histogramPercentile,
  LATENCY_BUCKET_LOWER_MS,
  LATENCY_BUCKETS,
  LATENCY_RELATIVE_ERROR,
  latencyBucket,
  latencyBucketSql,
} from '../../src/reports/latency';
import { createTestDatabase } from '../helpers/db';
import { seededRandom } from '../helpers/ledger-events';

const OPEN_BUCKET_MS = LATENCY_BUCKET_LOWER_MS[LATENCY_BUCKETS - 1]!;

describe('latency histogram', () => {
  it('reports every whole millisecond below the open bucket within the documented relative error', () => {
    let worst = 0;
    for (let ms = 1; ms < OPEN_BUCKET_MS; ms++) {
      worst = Math.max(worst, Math.abs(bucketRepresentative(latencyBucket(ms)) - ms) / ms);
    }
    expect(worst).toBeLessThanOrEqual(LATENCY_RELATIVE_ERROR);
    for (let ms = 0; ms <= 15; ms++) expect(bucketRepresentative(latencyBucket(ms))).toBe(ms);
  });

  it('gives percentiles within the bound of the exact ones (simple-statistics)', () => {
    const random = seededRandom(42);
    for (let round = 0; round < 20; round++) {
      // An odd count not divisible by 5, so n·p is never whole and quantileSorted is the nearest rank.
      let n = 201 + 2 * Math.floor(random() * 1000);
      if (n % 5 === 0) n += 2;
      const values = Array.from({ length: n }, () => Math.floor(Math.exp(random() * 12)));
      const histogram = emptyHistogram();
      for (const v of values) histogram[latencyBucket(v)]!++;
      const sorted = [...values].sort((a, b) => a - b);
      for (const p of [0.5, 0.95, 0.99]) {
        const exact = quantileSorted(sorted, p);
        const estimate = histogramPercentile(histogram, p)!;
        expect(Math.abs(estimate - exact) / Math.max(exact, 1), `p${p * 100} of ${n}`).toBeLessThanOrEqual(LATENCY_RELATIVE_ERROR);
      }
    }
    expect(histogramPercentile(emptyHistogram(), 0.5)).toBeNull();
  });

  describe('in SQL', () => {
    let database: Awaited<ReturnType<typeof createTestDatabase>>;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(() => database.cleanup());

    it('puts every latency in the same bucket as TypeScript does', async () => {
      const samples = [-5, 0, 1, 2, 16, 17, 18, 19, 100, 999, 1000, 65_535, 1_000_000, OPEN_BUCKET_MS - 1, OPEN_BUCKET_MS, 10 ** 9];
      for (let ms = 0; ms < 3000; ms += 7) samples.push(ms);
      const values = samples.map((ms) => `(${ms})`).join(',');
      const rows = await database.db.all<{ ms: number; bucket: number }>(
        sql.raw(`SELECT column1 AS ms, ${latencyBucketSql('column1')} AS bucket FROM (VALUES ${values})`),
      );
      for (const row of rows) expect(row.bucket, `${row.ms} ms`).toBe(latencyBucket(row.ms));
    });
  });
});
