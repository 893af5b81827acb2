import { Hono } from 'hono';
import { z } from 'zod';
import { readQuery } from '../src/http/body';
import { requireKey } from '../src/http/auth';
import { speaks } from '../src/http/protocol';
import { InstantParam } from '../src/http/query';
import type { AppEnv } from '../src/http/types';
import { renderChargeback, reportContext, ReportFormat, resolvePeriod, type RenderedReport } from '../src/reports/chargeback-export';
import { GroupByParam } from '../src/reports/dimensions';
import { listExports } from '../src/reports/monthly-export';
import { toJson } from '../src/reports/format';
import { monthForecast, spendAnomalies } from '../src/reports/insights';
import { DAY_MS } from '../src/reports/time';

/** A rendered report as a streamed download (`attachment`), or JSON shown inline with a filename for saving. */
export function sendReport(rendered: RenderedReport, attachment: boolean): Response {
  const encoder = new TextEncoder();
  const chunks = rendered.chunks[Symbol.iterator]();
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      // Lines are small: send them in pieces of about 64 KiB.
      let piece = '';
      for (let next = chunks.next(); ; next = chunks.next()) {
        if (next.done) {
          if (piece) controller.enqueue(encoder.encode(piece));
          controller.close();
          return;
        }
        piece += next.value;
        if (piece.length >= 65_536) break;
      }
      controller.enqueue(encoder.encode(piece));
    },
  });
  return new Response(body, {
    headers: {
      'content-type': rendered.contentType,
      'content-disposition': `${attachment ? 'attachment' : 'inline'}; filename="${rendered.filename}"`,
      'cache-control': 'no-store',
    },
  });
}

const json = (value: unknown): Response => new Response(toJson(value), { headers: { 'content-type': 'application/json; charset=utf-8' } });

const Period = { from: InstantParam.optional(), to: InstantParam.optional() };
const ChargebackQuery = z.object({ ...Period, group_by: GroupByParam.optional(), format: ReportFormat.default('json') }).strict();
const AnomalyQuery = z.object({ ...Period, by: z.enum(['key', 'user', 'team', 'project']).default('key') }).strict();

/** `/admin/reports`: chargeback (JSON, CSV, FOCUS), forecast, anomalies, monthly exports. */
export const adminReportRoutes = new Hono<AppEnv>()
  .get('/chargeback', async (c) => {
    const q = readQuery(c, ChargebackQuery);
    const period = resolvePeriod(q.from, q.to, c.var.services.deps.clock.now());
    const rendered = await renderChargeback(reportContext(c.var.services), { ...period, groupBy: q.group_by ?? [], format: q.format });
    return sendReport(rendered, q.format !== 'json');
  })
  .get('/forecast', async (c) => {
    readQuery(c, z.object({}).strict());
    const { db, clock } = c.var.services.deps;
    return json(await monthForecast(db, clock.now()));
  })
  .get('/anomalies', async (c) => {
    const q = readQuery(c, AnomalyQuery);
    const now = c.var.services.deps.clock.now();
    const period = resolvePeriod(q.from ?? now - 30 * DAY_MS, q.to, now);
    const anomalies = await spendAnomalies(c.var.services.deps.db, period.fromMs, period.toMs, q.by);
    return json({ from: new Date(period.fromMs).toISOString(), to: new Date(period.toMs).toISOString(), by: q.by, data: anomalies });
  })
  .get('/exports', async (c) => {
    readQuery(c, z.object({}).strict());
    return json({ data: await listExports(c.var.services.deps.db) });
  });

const UsageQuery = z.object({ ...Period, group_by: GroupByParam.optional(), format: z.enum(['json', 'csv']).default('json') }).strict();

/** `GET /v1/sluice/usage`: the calling key's own usage, never another key's. */
export const usageRoutes = new Hono<AppEnv>().get('/v1/sluice/usage', speaks('openai'), requireKey, async (c) => {
  const q = readQuery(c, UsageQuery);
  const keyId = c.var.principal.keyId;
  const period = resolvePeriod(q.from, q.to, c.var.services.deps.clock.now());
  const rendered = await renderChargeback(reportContext(c.var.services), { ...period, groupBy: q.group_by ?? [], format: q.format, keyId });
  if (q.format === 'csv') return sendReport(rendered, true);
  return json({ key_id: keyId, ...rendered.view });
});
