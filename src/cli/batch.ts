// Node-only: `sluice batch list|show|cancel` — the deferred-request queue and provider batch jobs.
import { cancelItem, cancelJob, findJob, jobView, listJobs, queueCounts } from '../batch/manage';
import { deferredView, findItem, listItems } from '../batch/queue';
import { systemClock } from '../deps';
import { SluiceError } from '../errors';
import { withApp } from './app';
import { flag, parseArgs, UsageError } from './args';

export const BATCH_USAGE = `sluice batch list [--status preparing|submitted|cancelling|ended|failed] [--limit N] [--json]
sluice batch show ID [--json]     a batch job (bj_…) and its requests, or one deferred request (dfr_…)
sluice batch cancel ID            cancel a batch job at its provider, or a deferred request still queued`;

function print(value: unknown, json: boolean, lines: () => string[]): void {
  console.log(json ? JSON.stringify(value, null, 2) : lines().join('\n'));
}

/** `name: value` lines for an object's fields. */
function fields(value: object): string[] {
  return Object.entries(value).map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`);
}

export async function batchCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json']);
  const [sub, id] = args.positionals;
  const json = args.flags.has('json');
  if (sub !== 'list' && sub !== 'show' && sub !== 'cancel') throw new UsageError(BATCH_USAGE);
  if (sub !== 'list' && !id) throw new UsageError(`sluice batch ${sub} needs an ID (bj_… or dfr_…)\n\n${BATCH_USAGE}`);
  const limit = Number(flag(args, 'limit') ?? 50);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');

  return withApp(async ({ services }) => {
    const { db } = services.deps;
    try {
      if (sub === 'list') {
        const status = flag(args, 'status');
        const jobs = (await listJobs(db, { limit, ...(status ? { status } : {}) })).map(jobView);
        const queue = await queueCounts(db);
        print({ queue, jobs }, json, () => [
          `deferred requests: ${Object.entries(queue).map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}`,
          ...jobs.map((j) => [j.id, j.provider, j.model, j.status, j.upstream_status ?? '-', `${j.item_count} items`, j.upstream_id ?? '-', j.created_at].join('\t')),
        ]);
        return 0;
      }
      if (id!.startsWith('bj_')) {
        if (sub === 'cancel') {
          const job = jobView(await cancelJob(services, id!, systemClock.now()));
          print(job, json, () => [`${job.id}: ${job.status}${job.status === 'cancelling' ? ' (its requests end on a later poll)' : ''}`]);
          return 0;
        }
        const job = jobView(await findJob(db, id!));
        const items = (await listItems(db, { jobId: id!, limit: 100_000 })).data.map(deferredView);
        print({ ...job, items }, json, () => [
          ...fields(job),
          ...items.map((item) => `  ${item.id}\t${item.status}\t${item.request_id}${item.error ? `\t${item.error.code}: ${item.error.message}` : ''}`),
        ]);
        return 0;
      }
      const item = await findItem(db, id!);
      if (!item) throw new SluiceError('not_found', `No batch job or deferred request "${id}".`);
      const view = sub === 'cancel' ? await cancelItem(services, item, systemClock.now()) : deferredView(item);
      const detail = { ...view, key_id: item.keyId, job_id: item.jobId, attempts: item.attempts };
      print(detail, json, () => fields(detail));
      return 0;
    } catch (error) {
      if (error instanceof SluiceError) {
        console.error(error.message);
        return 1;
      }
      throw error;
    }
  });
}
