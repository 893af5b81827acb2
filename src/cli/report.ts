// Node-only: `sluice report`, the chargeback report straight from the configured database.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { CatalogStore } from '../catalog/store';
import { openDatabase } from '../db/client';
import { applyMigrations } from '../db/migrate';
import { systemClock } from '../deps';
import { loadConfig } from '../entry/load-config';
import { SluiceError } from '../errors';
import { renderChargeback, ReportFormat, resolvePeriod } from '../reports/chargeback-export';
import { GroupByParam } from '../reports/dimensions';
import { parseInstant } from '../util/time';
import { flag, parseArgs, UsageError } from './args';

export const REPORT_USAGE = `sluice report [--from DATE|INSTANT] [--to DATE|INSTANT] [--group-by team,model,...] [--format json|csv|focus] [--out FILE]

  --from, --to   UTC dates (2026-11-01) or ISO 8601 instants; half-open [from, to).
                 Default: from the start of this month to now.
  --group-by     key, user, team, project, model, family, provider, tier, day, tag:<name> (several, comma-separated)
  --format       json (default), csv (RFC 4180), focus (FinOps FOCUS 1.2 CSV, fixed grain: no --group-by)
  --out          write to FILE instead of standard output`;

function instant(args: ReturnType<typeof parseArgs>, name: 'from' | 'to'): number | undefined {
  const value = flag(args, name);
  if (value === undefined) return undefined;
  const ms = parseInstant(value);
  if (ms === undefined) throw new UsageError(`--${name} "${value}" is not a date (2026-11-01) or an ISO 8601 instant with offset (2026-11-01T00:00:00Z)`);
  return ms;
}

async function writeAll(out: Writable, chunks: Iterable<string>): Promise<void> {
  for (const chunk of chunks) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
}

export async function reportCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.positionals.length > 0) throw new UsageError(REPORT_USAGE);
  const format = ReportFormat.safeParse(flag(args, 'format') ?? 'json');
  if (!format.success) throw new UsageError(`--format must be json, csv or focus\n\n${REPORT_USAGE}`);
  const groupBy = GroupByParam.safeParse(flag(args, 'group-by') ?? '');
  if (!groupBy.success) throw new UsageError(`--group-by: ${groupBy.error.issues[0]?.message ?? 'invalid'}`);
  const config = loadConfig(process.env);
  const database = await openDatabase(config.dbUrl, config.dbAuthToken);
  try {
    await applyMigrations(database.db);
    const catalog = new CatalogStore(config.catalog);
    await catalog.reload(database.db);
    const period = resolvePeriod(instant(args, 'from'), instant(args, 'to'), systemClock.now());
    const rendered = await renderChargeback(
      { db: database.db, catalog: catalog.current, config: config.reports, bedrockRegion: config.providers.bedrock.region },
      { ...period, groupBy: groupBy.data, format: format.data },
    );
    const outPath = flag(args, 'out');
    if (outPath === undefined) {
      await writeAll(process.stdout, rendered.chunks);
      if (format.data === 'json') process.stdout.write('\n');
      return 0;
    }
    const file = createWriteStream(outPath);
    await writeAll(file, rendered.chunks);
    file.end();
    await once(file, 'finish');
    console.error(`wrote ${outPath} (${rendered.report.rows.length} rows, ${rendered.report.totals.counts.requests} requests)`);
    return 0;
  } catch (error) {
    if (error instanceof SluiceError) throw new UsageError(error.message);
    throw error;
  } finally {
    database.close();
  }
}
