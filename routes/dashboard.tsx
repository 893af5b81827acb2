/** @jsxImportSource hono/jsx */
import { Hono, type Context } from 'hono';
import type { Child, FC } from 'hono/jsx';
import { z } from 'zod';
import { SluiceError } from '../src/errors';
import { dashboardAuth, signIn, signOut } from '../src/http/dashboard-session';
import { readQuery } from '../src/http/body';
import type { AppEnv } from '../src/http/types';
import { renderChargeback, reportContext, ReportFormat } from '../src/reports/chargeback-export';
import { dashboardData, type DashboardData } from '../src/reports/dashboard-data';
import { GroupByParam } from '../src/reports/dimensions';
import { usdLabel } from '../src/reports/format';
import { DAY_MS, floorTo, isoDate, monthStart } from '../src/reports/time';
import { parseInstant } from '../src/util/time';
import { HorizontalBars, PALETTE, StackedColumns } from './dashboard-charts';
import { sendReport } from './reports';

const STYLE = `
:root{color-scheme:light;--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa;--accent:#0b5cad;--bad:#a40e26;--warn:#7a4b00}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:#fff}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:1}
header{display:flex;justify-content:space-between;align-items:center;gap:1rem;padding:1rem 2rem;border-bottom:1px solid var(--line);background:var(--bg)}
header h1{margin:0;font-size:1.4rem}main{max-width:75rem;margin:0 auto;padding:1rem 2rem 3rem}
section{margin:2rem 0}h2{font-size:1.2rem;margin:0 0 .75rem}
a{color:var(--accent)}:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
form.inline{display:flex;flex-wrap:wrap;align-items:end;gap:.75rem}label{display:flex;flex-direction:column;font-size:.9rem;color:var(--muted)}
input,select,button{font:inherit;padding:.35rem .6rem;border:1px solid var(--muted);border-radius:4px;background:#fff;color:var(--ink)}
button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}button.secondary{background:#fff;color:var(--accent)}
ul.presets{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;padding:0;margin:.75rem 0 0}
dl.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.75rem;margin:0}
dl.cards div{border:1px solid var(--line);border-radius:6px;padding:.75rem;background:var(--bg)}dl.cards dt{color:var(--muted);font-size:.85rem}dl.cards dd{margin:0;font-size:1.3rem;font-weight:600}
figure{margin:0}.chart{width:100%;height:auto;max-width:720px}.chart .grid{stroke:var(--line)}.chart .axis{stroke:var(--muted)}.chart .tick,.chart .label{font-size:12px;fill:var(--ink)}
ul.legend{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;padding:0;margin:.5rem 0}.swatch{display:inline-block;width:.9rem;height:.9rem;margin-right:.35rem;vertical-align:-2px;border-radius:2px}
table{border-collapse:collapse;width:100%;margin:.5rem 0}caption{text-align:left;color:var(--muted);padding:.25rem 0}th,td{border-bottom:1px solid var(--line);padding:.35rem .6rem;text-align:left}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
details summary{cursor:pointer;color:var(--accent)}.note{color:var(--muted)}.error{border:1px solid var(--bad);color:var(--bad);padding:.75rem;border-radius:6px}
.state-exceeded{color:var(--bad);font-weight:600}.state-warning{color:var(--warn);font-weight:600}
`;

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const Layout: FC<{ title: string; session?: 'bearer' | 'cookie' | undefined; children?: Child }> = (props) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{props.title}</title>
      <style>{STYLE}</style>
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <h1>Sluice · spend dashboard</h1>
        {props.session === 'cookie' ? (
          <form method="post" action="/dashboard/sign-out">
            <button type="submit" class="secondary">
              Sign out
            </button>
          </form>
        ) : null}
      </header>
      <main id="main">{props.children}</main>
    </body>
  </html>
);

/** An exact amount: the text is for people, `value` (nano-USD) for machines and tests. */
const Money: FC<{ nusd: bigint | number }> = ({ nusd }) => <data value={String(nusd)}>{usdLabel(BigInt(nusd))}</data>;

/** A table's column headers: [label, numeric?] (numeric columns are right-aligned). */
const Head: FC<{ columns: [string, boolean][] }> = ({ columns }) => (
  <thead>
    <tr>
      {columns.map(([label, numeric]) => (
        <th scope="col" class={numeric ? 'num' : undefined}>
          {label}
        </th>
      ))}
    </tr>
  </thead>
);

const percent = (value: number | null): string => (value === null ? '–' : `${(value * 100).toFixed(1)}%`);
const count = (value: number): string => value.toLocaleString('en-US');

interface Period {
  fromMs: number;
  /** Exclusive: the day after `until`. */
  toMs: number;
}

/** `from` and `until` are dates (UTC) and `until` is the last day shown, so [from, until + 1 day). */
function dashboardPeriod(query: { from?: string | undefined; until?: string | undefined }, nowMs: number): Period {
  const today = floorTo(nowMs, DAY_MS);
  const date = (name: 'from' | 'until', value: string | undefined, fallback: number): number => {
    if (value === undefined || value === '') return fallback;
    const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? parseInstant(value) : undefined;
    if (ms === undefined) throw new SluiceError('invalid_request', `"${value}" is not a date (YYYY-MM-DD).`, { param: name });
    return ms;
  };
  const fromMs = date('from', query.from, monthStart(nowMs));
  const until = date('until', query.until, today);
  if (until < fromMs) throw new SluiceError('invalid_request', 'The last day comes before the first day; pick a last day on or after the first.', { param: 'until' });
  if ((until - fromMs) / DAY_MS >= 366) throw new SluiceError('invalid_request', 'The dashboard shows up to 366 days; pick a shorter period (reports and exports take any range).', { param: 'from' });
  return { fromMs, toMs: until + DAY_MS };
}

function presets(nowMs: number): { label: string; from: number; until: number }[] {
  const today = floorTo(nowMs, DAY_MS);
  const thisMonth = monthStart(nowMs);
  const lastMonth = monthStart(thisMonth - 1);
  return [
    { label: 'This month', from: thisMonth, until: today },
    { label: 'Last month', from: lastMonth, until: thisMonth - DAY_MS },
    { label: 'Last 7 days', from: today - 6 * DAY_MS, until: today },
    { label: 'Last 30 days', from: today - 29 * DAY_MS, until: today },
  ];
}

const PeriodForm: FC<{ period: Period | undefined; nowMs: number }> = ({ period, nowMs }) => (
  <section aria-labelledby="period-heading">
    <h2 id="period-heading">Period</h2>
    <form method="get" action="/dashboard" class="inline">
      <label>
        First day (UTC)
        <input type="date" name="from" id="from" value={period ? isoDate(period.fromMs) : ''} required />
      </label>
      <label>
        Last day (UTC, included)
        <input type="date" name="until" id="until" value={period ? isoDate(period.toMs - DAY_MS) : ''} required />
      </label>
      <button type="submit">Show</button>
    </form>
    <nav aria-label="Period presets">
      <ul class="presets">
        {presets(nowMs).map((p) => (
          <li>
            <a href={`/dashboard?from=${isoDate(p.from)}&until=${isoDate(p.until)}`}>{p.label}</a>
          </li>
        ))}
      </ul>
    </nav>
  </section>
);

const Summary: FC<{ data: DashboardData }> = ({ data }) => {
  const t = data.totals;
  return (
    <section aria-labelledby="summary-heading">
      <h2 id="summary-heading">
        Summary, {isoDate(data.fromMs)} to {isoDate(data.toMs - DAY_MS)}
      </h2>
      <dl class="cards">
        <div id="total-cost">
          <dt>Spend</dt>
          <dd>
            <Money nusd={t.cost_nusd} />
          </dd>
        </div>
        <div id="total-baseline">
          <dt>Without Sluice (baseline)</dt>
          <dd>
            <Money nusd={t.baseline_cost_nusd} />
          </dd>
        </div>
        <div id="total-savings">
          <dt>Saved</dt>
          <dd>
            <Money nusd={t.savings_nusd.total} />
          </dd>
        </div>
        <div id="total-requests">
          <dt>Requests</dt>
          <dd>
            <data value={String(t.requests)}>{count(t.requests)}</data>
          </dd>
        </div>
        <div>
          <dt>Error rate</dt>
          <dd>{percent(t.requests ? t.error_rate : null)}</dd>
        </div>
        <div>
          <dt>Response-cache hit ratio</dt>
          <dd>{percent(t.cache_hit_ratio)}</dd>
        </div>
        <div>
          <dt>Latency p95</dt>
          <dd>{t.latency_ms.p95 === null ? '–' : `${count(t.latency_ms.p95)} ms`}</dd>
        </div>
      </dl>
    </section>
  );
};

const Forecast: FC<{ data: DashboardData }> = ({ data }) => {
  const f = data.forecast;
  return (
    <section aria-labelledby="forecast-heading" id="forecast">
      <h2 id="forecast-heading">Month-end forecast for {f.month}</h2>
      <p>
        Spent so far <Money nusd={f.spend_to_date_nusd} />. Forecast for the whole month <strong><Money nusd={f.forecast_nusd} /></strong>, likely between{' '}
        <Money nusd={f.low_nusd} /> and <Money nusd={f.high_nusd} />.
      </p>
      <p class="note">
        {f.confidence === 'none'
          ? 'No complete day yet: this is the run rate so far.'
          : `Linear trend over the last ${f.trend.days_used} complete day(s)${f.confidence === 'low' ? '; few days, so treat it as rough' : ''}.`}
      </p>
    </section>
  );
};

const SpendByTeam: FC<{ data: DashboardData }> = ({ data }) => {
  const series = data.spendByTeam.map((s, i) => ({
    label: s.team === null ? '(no team)' : s.team,
    color: s.team === 'other' ? PALETTE[PALETTE.length - 1]! : PALETTE[i % (PALETTE.length - 1)]!,
    values: s.costs.map(Number),
  }));
  return (
    <section aria-labelledby="teams-heading">
      <h2 id="teams-heading">Spend over time by team</h2>
      {series.length === 0 ? (
        <p class="note">No spend in this period.</p>
      ) : (
        <figure>
          <StackedColumns
            id="teams-chart"
            title="Daily spend by team"
            description={`Stacked daily spend for ${series.map((s) => s.label).join(', ')}; the table below has the numbers.`}
            labels={data.days}
            series={series}
            format={(v) => usdLabel(BigInt(Math.round(v)))}
          />
          <ul class="legend">
            {series.map((s) => (
              <li>
                <span class="swatch" style={`background:${s.color}`} aria-hidden="true" />
                {s.label}
              </li>
            ))}
          </ul>
          <details>
            <summary>Spend by team and day as a table</summary>
            <table>
              <caption>Daily spend by team (USD)</caption>
              <thead>
                <tr>
                  <th scope="col">Day</th>
                  {series.map((s) => (
                    <th scope="col" class="num">
                      {s.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.days.map((day, i) => (
                  <tr>
                    <th scope="row">{day}</th>
                    {data.spendByTeam.map((s) => (
                      <td class="num">
                        <Money nusd={s.costs[i] ?? 0n} />
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </figure>
      )}
    </section>
  );
};

const Savings: FC<{ data: DashboardData }> = ({ data }) => {
  const s = data.totals.savings_nusd;
  const levers = [
    { label: 'Routing (cheaper model)', nusd: s.routing },
    { label: 'Caching', nusd: s.caching },
    { label: 'Service tier', nusd: s.tier },
  ];
  return (
    <section aria-labelledby="savings-heading">
      <h2 id="savings-heading">Savings by lever</h2>
      <figure>
        <HorizontalBars
          id="savings-chart"
          title="Savings by lever"
          description={levers.map((l) => `${l.label}: ${usdLabel(l.nusd)}`).join('; ')}
          bars={levers.map((l, i) => ({ label: l.label, value: Number(l.nusd), display: usdLabel(l.nusd), color: PALETTE[i + 2]! }))}
        />
        <table id="savings-table">
          <caption>Savings against the baseline (negative: the lever cost money)</caption>
          <Head columns={[['Lever', false], ['Saved', true]]} />
          <tbody>
            {levers.map((l) => (
              <tr>
                <th scope="row">{l.label}</th>
                <td class="num">
                  <Money nusd={l.nusd} />
                </td>
              </tr>
            ))}
            <tr>
              <th scope="row">Total</th>
              <td class="num">
                <Money nusd={s.total} />
              </td>
            </tr>
          </tbody>
        </table>
      </figure>
    </section>
  );
};

const ModelMix: FC<{ data: DashboardData }> = ({ data }) => {
  const total = data.totals.cost_nusd;
  const share = (nusd: bigint): string => (total === 0n ? '–' : `${((Number(nusd) / Number(total)) * 100).toFixed(1)}%`);
  return (
    <section aria-labelledby="models-heading">
      <h2 id="models-heading">Model mix</h2>
      {data.modelMix.length === 0 ? (
        <p class="note">No requests in this period.</p>
      ) : (
        <figure>
          <HorizontalBars
            id="models-chart"
            title="Spend by model"
            description={data.modelMix.map((m) => `${m.model ?? 'unknown'}: ${usdLabel(m.cost_nusd)}`).join('; ')}
            bars={data.modelMix.map((m) => ({ label: m.model ?? 'unknown', value: Number(m.cost_nusd), display: `${usdLabel(m.cost_nusd)} (${share(m.cost_nusd)})` }))}
          />
          <table id="models-table">
            <caption>Spend and requests by served model</caption>
            <Head columns={[['Model', false], ['Spend', true], ['Share', true], ['Requests', true]]} />
            <tbody>
              {data.modelMix.map((m) => (
                <tr>
                  <th scope="row">{m.model ?? 'unknown'}</th>
                  <td class="num">
                    <Money nusd={m.cost_nusd} />
                  </td>
                  <td class="num">{share(m.cost_nusd)}</td>
                  <td class="num">{count(m.requests)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </figure>
      )}
    </section>
  );
};

const TopPrincipals: FC<{ data: DashboardData }> = ({ data }) => (
  <section aria-labelledby="principals-heading">
    <h2 id="principals-heading">Top principals</h2>
    {data.topPrincipals.length === 0 ? (
      <p class="note">No requests in this period.</p>
    ) : (
      <table id="principals-table">
        <caption>Keys by spend (the ten largest)</caption>
        <Head columns={[['Key', false], ['Team', false], ['Spend', true], ['Saved', true], ['Requests', true], ['Anomalous days', true]]} />
        <tbody>
          {data.topPrincipals.map((p) => (
            <tr data-key={p.key}>
              <th scope="row">
                {p.key_name === null ? p.key : [p.key_name, ' ', <span class="note">{p.key}</span>]}
              </th>
              <td>{p.team ?? '–'}</td>
              <td class="num">
                <Money nusd={p.cost_nusd} />
              </td>
              <td class="num">
                <Money nusd={p.savings_nusd} />
              </td>
              <td class="num">{count(p.requests)}</td>
              <td class="num">{p.anomalies}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </section>
);

const Anomalies: FC<{ data: DashboardData }> = ({ data }) => (
  <section aria-labelledby="anomalies-heading">
    <h2 id="anomalies-heading">Spend anomalies</h2>
    {data.anomalies.length === 0 ? (
      <p class="note">No key's daily spend stood out in this period (robust z-score above 3.5, at least 7 days of history).</p>
    ) : (
      <table id="anomalies-table">
        <caption>Days a key's spend was far from its usual (robust z-score)</caption>
        <Head columns={[['Day', false], ['Key', false], ['Spend', true], ['Usual (median)', true], ['Score', true]]} />
        <tbody>
          {data.anomalies.map((a) => (
            <tr>
              <td>{a.day}</td>
              <th scope="row">{a.key_name ?? a.principal}</th>
              <td class="num">
                <Money nusd={a.cost_nusd} />
              </td>
              <td class="num">
                <Money nusd={Math.round(a.median_nusd)} />
              </td>
              <td class="num">
                {a.score} ({a.direction})
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </section>
);

const BUDGET_STATE_CLASS: Record<string, string> = { over: 'state-exceeded', blocking: 'state-exceeded', downgrading: 'state-warning' };

const Budgets: FC<{ data: DashboardData }> = ({ data }) => (
  <section aria-labelledby="budgets-heading" id="budgets">
    <h2 id="budgets-heading">Budget status</h2>
    {data.budgets.length === 0 ? (
      <p class="note">No budgets are defined (POST /admin/budgets).</p>
    ) : (
      <table id="budgets-table">
        <caption>Budgets in their current period (spend as this instance counts it; see /admin/budgets)</caption>
        <Head columns={[['Budget', false], ['Scope', false], ['Period', false], ['Spend', true], ['Amount', true], ['Used', true], ['State', false]]} />
        <tbody>
          {data.budgets.map((b) => {
            const spend = b.current?.spend_nusd ?? 0;
            return (
              <tr>
                <th scope="row">{b.name}</th>
                <td>{b.scope.value === null ? b.scope.type : `${b.scope.type}=${b.scope.value}`}</td>
                <td>{b.period}</td>
                <td class="num">
                  <Money nusd={spend} />
                </td>
                <td class="num">
                  <Money nusd={b.amount_nusd} />
                </td>
                <td class="num">{percent(b.amount_nusd > 0 ? spend / b.amount_nusd : null)}</td>
                <td class={BUDGET_STATE_CLASS[b.current?.state ?? 'ok']}>
                  {b.current?.state ?? 'unknown'} ({b.action})
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    )}
  </section>
);

const Downloads: FC<{ period: Period }> = ({ period }) => (
  <section aria-labelledby="downloads-heading">
    <h2 id="downloads-heading">Download this period</h2>
    <form method="get" action="/dashboard/download" class="inline">
      <input type="hidden" name="from" value={isoDate(period.fromMs)} />
      <input type="hidden" name="to" value={isoDate(period.toMs)} />
      <label>
        Group by (CSV and JSON)
        <select name="group_by" id="download-group-by">
          <option value="team,model">team, model</option>
          <option value="team,project,key,model">team, project, key, model</option>
          <option value="key">key</option>
          <option value="model,day">model, day</option>
          <option value="team,day">team, day</option>
        </select>
      </label>
      <button type="submit" name="format" value="csv">
        CSV
      </button>
      <button type="submit" name="format" value="json">
        JSON
      </button>
      <button type="submit" name="format" value="focus">
        FOCUS 1.2 CSV
      </button>
    </form>
  </section>
);

const SignInPage: FC<{ error?: string | undefined; next: string }> = ({ error, next }) => (
  <Layout title="Sign in · Sluice">
    <section aria-labelledby="signin-heading">
      <h2 id="signin-heading">Sign in</h2>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <form method="post" action="/dashboard/sign-in" class="inline">
        <input type="hidden" name="next" value={next} />
        <label>
          Admin key
          <input type="password" name="admin_key" id="admin-key" autocomplete="current-password" required />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <p class="note">The session lasts 12 hours on this browser; the key itself is not stored.</p>
    </section>
  </Layout>
);

function html(c: Context<AppEnv>, page: ReturnType<FC>, status: 200 | 400 | 401 = 200): Response | Promise<Response> {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  return c.html(page as string, status);
}

/** Only same-dashboard paths, so the sign-in form cannot be used to redirect elsewhere. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/dashboard(?:[/?]|$)/.test(next) && !next.startsWith('//') ? next : '/dashboard';
}

const DashboardQuery = z.object({ from: z.string().optional(), until: z.string().optional() }).strict();
const DownloadQuery = z.object({ from: z.string(), to: z.string(), group_by: GroupByParam.optional(), format: ReportFormat }).strict();

/** `/dashboard`: the admin spend dashboard (server-rendered, no script), its sign-in and its downloads. */
export const dashboardRoutes = new Hono<AppEnv>()
  .get('/sign-in', (c) => html(c, <SignInPage next={safeNext(c.req.query('next'))} />))
  .post('/sign-in', async (c) => {
    const form = await c.req.parseBody();
    const key = typeof form.admin_key === 'string' ? form.admin_key : '';
    if (!(await signIn(c, key))) return html(c, <SignInPage error="That is not the admin key." next={safeNext(form.next)} />, 401);
    return c.redirect(safeNext(form.next), 303);
  })
  .post('/sign-out', (c) => {
    signOut(c);
    return c.redirect('/dashboard/sign-in', 303);
  })
  .use('*', async (c, next) => {
    const session = await dashboardAuth(c);
    if (!session) {
      if (c.req.header('authorization')) throw new SluiceError('unauthorized', 'The admin key is not valid.');
      const url = new URL(c.req.url);
      return c.redirect(`/dashboard/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    await next();
  })
  .get('/', async (c) => {
    const now = c.var.services.deps.clock.now();
    // Checked again (it is cheap) rather than widening the app's context type for one flag.
    const session = await dashboardAuth(c);
    let period: Period;
    try {
      period = dashboardPeriod(readQuery(c, DashboardQuery), now);
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      return html(
        c,
        <Layout title="Sluice dashboard" session={session}>
          <p class="error" role="alert">
            {error.message}
          </p>
          <PeriodForm period={undefined} nowMs={now} />
        </Layout>,
        400,
      );
    }
    const data = await dashboardData(c.var.services, period.fromMs, period.toMs);
    return html(
      c,
      <Layout title={`Sluice dashboard · ${isoDate(period.fromMs)} to ${isoDate(period.toMs - DAY_MS)}`} session={session}>
        <PeriodForm period={period} nowMs={now} />
        <Summary data={data} />
        <Forecast data={data} />
        <SpendByTeam data={data} />
        <Savings data={data} />
        <ModelMix data={data} />
        <TopPrincipals data={data} />
        <Anomalies data={data} />
        <Budgets data={data} />
        <Downloads period={period} />
      </Layout>,
    );
  })
  .get('/download', async (c) => {
    const q = readQuery(c, DownloadQuery);
    const fromMs = parseInstant(q.from);
    const toMs = parseInstant(q.to);
    if (fromMs === undefined || toMs === undefined || !(fromMs < toMs)) throw new SluiceError('invalid_request', 'from and to must be dates or instants with from before to.', { param: 'from' });
    const groupBy = q.format === 'focus' ? [] : (q.group_by ?? []);
    const rendered = await renderChargeback(reportContext(c.var.services), { fromMs, toMs, groupBy, format: q.format });
    return sendReport(rendered, true);
  });
