import { z } from 'zod';
import type { Catalog } from '../catalog/catalog';
import type { ReportsConfig } from '../config';
import type { Db } from '../db/client';
import { SluiceError } from '../errors';
import type { Services } from '../gateway/services';
import { keyLabels } from '../keys/keys';
import { chargebackCsv, chargebackView, type ChargebackView } from './chargeback';
import type { GroupDimension } from './dimensions';
import { FOCUS_GRAIN, FOCUS_VERSION, focusCsv } from './focus';
import { toJson } from './format';
import { runReport, type Report } from './report';
import { DAY_MS, floorTo, isoInstant, monthStart } from './time';

export const ReportFormat = z.enum(['json', 'csv', 'focus']);
export type ReportFormat = z.infer<typeof ReportFormat>;

/** What reports read besides the ledger. */
export interface ReportContext {
  db: Db;
  catalog: Catalog;
  config: ReportsConfig;
  bedrockRegion: string;
}

export function reportContext(services: Services): ReportContext {
  const { config, db } = services.deps;
  return { db, catalog: services.catalog.current, config: config.reports, bedrockRegion: config.providers.bedrock.region };
}

export interface ChargebackRequest {
  fromMs: number;
  toMs: number;
  groupBy: GroupDimension[];
  format: ReportFormat;
  /** Only this key's usage (a principal's own view). */
  keyId?: string;
}

/** A report ready to send or write: its body comes in chunks so large exports are never one string. */
export interface RenderedReport {
  contentType: string;
  filename: string;
  chunks: Iterable<string>;
  /** The JSON view (json and csv formats), e.g. for totals. */
  view: ChargebackView | undefined;
  report: Report;
}

/**
 * The reporting period from optional `from`/`to` (epoch ms): from defaults to the start of the
 * current UTC month, to to now (whole seconds); the range is half-open and must not be empty.
 */
export function resolvePeriod(from: number | undefined, to: number | undefined, nowMs: number): { fromMs: number; toMs: number } {
  const fromMs = from ?? monthStart(nowMs);
  const toMs = to ?? floorTo(nowMs, 1000);
  if (!(fromMs < toMs)) {
    throw new SluiceError(
      'invalid_request',
      `'from' (${isoInstant(fromMs)}) must be before 'to' (${isoInstant(toMs)}${to === undefined ? ', now' : ''}); the period is half-open, [from, to).`,
      { param: from === undefined ? 'to' : 'from' },
    );
  }
  return { fromMs, toMs };
}

function stamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return ms % DAY_MS === 0 ? iso.slice(0, 10) : iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function filename(request: ChargebackRequest): string {
  const period = `${stamp(request.fromMs)}_${stamp(request.toMs)}`;
  if (request.format === 'focus') return `sluice-focus-${FOCUS_VERSION}_${period}.csv`;
  const by = request.groupBy.length ? `_by-${request.groupBy.join('-').replace(/[^A-Za-z0-9._-]/g, '-')}` : '';
  return `sluice-chargeback_${period}${by}.${request.format === 'json' ? 'json' : 'csv'}`;
}

/** Computes a chargeback report and renders it as JSON, CSV or FOCUS CSV. */
export async function renderChargeback(context: ReportContext, request: ChargebackRequest): Promise<RenderedReport> {
  if (request.format === 'focus') {
    if (request.groupBy.length > 0) {
      throw new SluiceError('invalid_request', `FOCUS exports have a fixed grain (one row per day, key, model and service tier); leave out group_by (got "${request.groupBy.join(',')}").`, { param: 'group_by' });
    }
    if (request.fromMs % 1000 !== 0 || request.toMs % 1000 !== 0) {
      throw new SluiceError('invalid_request', 'FOCUS date/times have whole seconds; give from and to without fractions of a second.', { param: request.fromMs % 1000 !== 0 ? 'from' : 'to' });
    }
  }
  const groupBy: GroupDimension[] = request.format === 'focus' ? [...FOCUS_GRAIN] : request.groupBy;
  // FOCUS has no latency columns: skip the histogram.
  const report = await runReport(context.db, {
    fromMs: request.fromMs,
    toMs: request.toMs,
    groupBy,
    latency: request.format !== 'focus',
    ...(request.keyId === undefined ? {} : { keyId: request.keyId }),
  });
  const keyIndex = groupBy.indexOf('key');
  const keys = keyIndex === -1 ? new Map() : await keyLabels(context.db, [...new Set(report.rows.map((r) => r.group[keyIndex] ?? ''))]);
  const name = filename(request);
  if (request.format === 'focus') {
    const options = {
      catalog: context.catalog,
      keys,
      billingAccountId: context.config.billingAccountId,
      billingAccountName: context.config.billingAccountName,
      bedrockRegion: context.bedrockRegion,
    };
    return { contentType: 'text/csv; charset=utf-8; header=present', filename: name, chunks: focusCsv(report, options), view: undefined, report };
  }
  const view = chargebackView(report, request.groupBy, keys);
  if (request.format === 'csv') return { contentType: 'text/csv; charset=utf-8; header=present', filename: name, chunks: chargebackCsv(view), view, report };
  return { contentType: 'application/json; charset=utf-8', filename: name, chunks: [toJson(view)], view, report };
}
