import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import type { Services } from '../gateway/services';
import type { Job } from '../jobs/types';
import { enqueueEvent } from '../webhooks/outbox';
import { renderChargeback, reportContext, type ReportFormat } from './chargeback-export';
import { usdFromNusd } from './format';
import { reportExports } from './schema';
import { monthLabel, monthStart } from './time';

/**
 * Writes export files (Node: a folder, SLUICE_EXPORT_DIR). Workers have no file system: there the
 * export is recorded and announced with download paths, and the report is regenerated on demand.
 */
export interface ExportSink {
  /** Writes (or replaces) the file `name` and returns where it is. */
  write(name: string, chunks: Iterable<string>): Promise<string>;
}

export interface ExportFile {
  format: ReportFormat;
  name: string;
  /** Where the sink wrote it; null without a sink. */
  location: string | null;
  /** The admin API call that regenerates the same file. */
  download_path: string;
}

export interface ExportTotals {
  requests: number;
  cost_nusd: number;
  cost_usd: number;
  baseline_cost_nusd: number;
  savings_nusd: number;
}

export interface ExportView {
  period: string;
  period_start: string;
  period_end: string;
  status: string;
  files: ExportFile[];
  totals: ExportTotals | null;
  created_at: string;
  ready_at: string | null;
}

function downloadPath(fromMs: number, toMs: number, format: ReportFormat, groupBy: readonly string[]): string {
  const params = new URLSearchParams({ from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), format });
  if (format !== 'focus' && groupBy.length) params.set('group_by', groupBy.join(','));
  return `/admin/reports/chargeback?${params.toString()}`;
}

/**
 * Exports the calendar month before `scheduledAt` (UTC): the chargeback as CSV and JSON (grouped
 * by `reports.export_group_by`) and the FOCUS CSV, then announces `report.ready` through the
 * webhook outbox in the same transaction that marks the export ready, keyed by the month: one
 * export and one event per month, however often (or on however many instances) the job runs. A
 * run that died before that transaction is redone by the next one.
 */
export async function exportMonth(services: Services, scheduledAt: number, sink: ExportSink | undefined): Promise<string> {
  const { db, clock, config } = services.deps;
  const periodEnd = monthStart(scheduledAt);
  const periodStart = monthStart(periodEnd - 1);
  const period = monthLabel(periodStart);
  await db
    .insert(reportExports)
    .values({ period, periodStart, periodEnd, status: 'pending', files: '[]', totals: null, createdAt: clock.now(), readyAt: null })
    .onConflictDoNothing();
  const [existing] = await db.select({ status: reportExports.status }).from(reportExports).where(eq(reportExports.period, period));
  if (existing?.status === 'ready') return `${period} was already exported`;

  const context = reportContext(services);
  const groupBy = config.reports.exportGroupBy;
  const files: ExportFile[] = [];
  let totals: ExportTotals | undefined;
  for (const format of ['csv', 'json', 'focus'] as const) {
    const rendered = await renderChargeback(context, { fromMs: periodStart, toMs: periodEnd, groupBy: format === 'focus' ? [] : groupBy, format });
    const location = sink ? await sink.write(rendered.filename, rendered.chunks) : null;
    files.push({ format, name: rendered.filename, location, download_path: downloadPath(periodStart, periodEnd, format, groupBy) });
    const t = rendered.report.totals;
    totals ??= {
      requests: t.counts.requests,
      cost_nusd: Number(t.money.cost_nusd),
      cost_usd: Number(usdFromNusd(t.money.cost_nusd)),
      baseline_cost_nusd: Number(t.money.baseline_cost_nusd),
      savings_nusd: Number(t.money.baseline_cost_nusd - t.money.cost_nusd),
    };
  }
  const markReady = db
    .update(reportExports)
    .set({ status: 'ready', files: JSON.stringify(files), totals: JSON.stringify(totals), readyAt: clock.now() })
    .where(eq(reportExports.period, period));
  const data = { id: `chargeback-${period}`, period, period_start: new Date(periodStart).toISOString(), period_end: new Date(periodEnd).toISOString(), files, totals: totals! };
  await enqueueEvent(services, 'report.ready', data, { idempotencyKey: `report.ready:${period}`, alongside: [markReady] });
  return `${period}: ${files.map((f) => f.location ?? f.name).join(', ')}`;
}

/** Monthly exports, newest first. */
export async function listExports(db: Db): Promise<ExportView[]> {
  const rows = await db.select().from(reportExports).orderBy(desc(reportExports.period)).limit(120);
  return rows.map((row) => ({
    period: row.period,
    period_start: new Date(row.periodStart).toISOString(),
    period_end: new Date(row.periodEnd).toISOString(),
    status: row.status,
    files: JSON.parse(row.files) as ExportFile[],
    totals: row.totals === null ? null : (JSON.parse(row.totals) as ExportTotals),
    created_at: new Date(row.createdAt).toISOString(),
    ready_at: row.readyAt === null ? null : new Date(row.readyAt).toISOString(),
  }));
}

export const monthlyExportJob: Job = {
  name: 'export',
  // 01:30 UTC on the 1st: the month's last streams and ledger flushes have long landed.
  schedule: '30 1 1 * *',
  description: "export last month's chargeback (CSV, JSON) and FOCUS files, then publish report.ready",
  run: (services, scheduledAt) => exportMonth(services, scheduledAt, services.deps.exportSink),
};
