/**
 * The acictl web UI: plain DOM, no framework. Three pages by hash route — jobs (#/), a job with its
 * run grid (#/jobs/NAME) and a run with its attempts and logs (#/runs/ID). Data comes from the UI's
 * JSON views (/ui/api/*); actions, watches and logs go through the ordinary API with the session
 * cookie and the CSRF proof. Live updates are streams (watch, log follow), never a poll per line.
 */

type Outcome = 'Waiting' | 'UpstreamFailed' | 'Pending' | 'Running' | 'Retrying' | 'Succeeded' | 'Failed' | 'Missed' | 'Skipped';
interface GridCell { run?: string; outcome: Outcome; time: number; attempts: number; manual?: boolean; message?: string }
interface JobRow {
  name: string; labels: Record<string, string>; schedule: string | null; words: string; timeZone: string; suspended: boolean;
  state: 'Ready' | 'Invalid' | 'NotReady' | 'Deleting'; reason?: string; lastScheduleTime?: string; lastRunResult?: string; nextScheduleTime?: string;
  source: { kind: 'directory'; file: string; revision?: string } | { kind: 'api'; fieldManager?: string };
  lastRun?: { id: string; phase: Outcome; time: number; startedAt?: number; finishedAt?: number };
  recent?: GridCell[];
}
interface JobPage { total: number; matched: number; offset: number; items: JobRow[]; resourceVersion: number }
interface JobDetail extends JobRow { readOnly?: string; grid: GridCell[]; events: { time: string; type: string; reason: string; message: string; run?: string }[] }
interface Attempt { attempt: number; groupName: string; phase: string; createdAt: number; startedAt?: number; finishedAt?: number; exitCode?: number | null; reason?: string; message?: string; logsArchived: boolean }
interface RunDetail { id: string; job: string; phase: Outcome; manual: boolean; scheduledTime: number; dataIntervalStart: number; dataIntervalEnd: number; createdAt: number; finishedAt?: number; nextAttemptAt?: number; attempts: Attempt[] }

const API = '/apis/acictl.dev/v1';
const PAGE_SIZE = 50;
const csrf = document.querySelector<HTMLMetaElement>('meta[name="acictl-csrf"]')?.content ?? '';
const app = document.getElementById('app') as HTMLElement;

// ---- small DOM helpers ------------------------------------------------------------------------

type Child = Node | string | null | undefined | false;
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | ((e: Event) => void)> = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

function fmtTime(ms: number | string | undefined): string {
  if (ms === undefined) return '—';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '—' : d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

function fmtDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? ` ${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

function relative(ms: number | string | undefined): string {
  if (ms === undefined) return '';
  const t = typeof ms === 'number' ? ms : Date.parse(ms);
  if (Number.isNaN(t)) return '';
  const d = t - Date.now();
  return d >= 0 ? `in ${fmtDuration(d)}` : `${fmtDuration(d)} ago`;
}

function when(ms: number | string | undefined): HTMLElement {
  if (ms === undefined) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'when' }, h('time', { datetime: new Date(ms).toISOString() }, fmtTime(ms)), ' ', h('span', { class: 'rel' }, `(${relative(ms)})`));
}

function badge(text: string, kind: string): HTMLElement {
  return h('span', { class: `badge ${kind}` }, text);
}

// ---- requests ---------------------------------------------------------------------------------

class Unauthorized extends Error {}

async function request(method: string, url: string, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  const res = await fetch(url, { method, headers, credentials: 'same-origin', ...(signal ? { signal } : {}) });
  if (res.status === 401) {
    location.href = '/login';
    throw new Unauthorized('not logged in');
  }
  return res;
}

async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await request('GET', url, signal);
  if (!res.ok) throw new Error(`${res.status} ${(await res.json().catch(() => ({}))).message ?? res.statusText}`);
  return (await res.json()) as T;
}

/** Read a streamed response body chunk by chunk until it ends or `signal` aborts. */
async function stream(url: string, signal: AbortSignal, onText: (text: string) => void): Promise<void> {
  const res = await request('GET', url, signal);
  if (!res.ok || !res.body) throw new Error(`${res.status} ${res.statusText}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    if (value) onText(value);
  }
}

/** A watch (newline-delimited JSON events); `onEvent` runs for each. Resolves when the stream ends. */
async function watch(url: string, signal: AbortSignal, onEvent: (e: { type: string; object: unknown }) => void): Promise<void> {
  let buf = '';
  await stream(url, signal, (text) => {
    buf += text;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) onEvent(JSON.parse(line) as { type: string; object: unknown });
    }
  });
}

function quiet(err: unknown): void {
  if (err instanceof Unauthorized) return;
  if ((err as Error)?.name === 'AbortError') return;
  showError(err);
}

function showError(err: unknown): void {
  const box = document.getElementById('error') ?? app.insertBefore(h('p', { id: 'error', class: 'error', role: 'alert' }), app.firstChild);
  box.textContent = `Error: ${(err as Error)?.message ?? String(err)}`;
}

// ---- confirmation -----------------------------------------------------------------------------

function confirmAction(text: string): Promise<boolean> {
  const dialog = document.getElementById('confirm') as HTMLDialogElement;
  (document.getElementById('confirm-text') as HTMLElement).textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  (document.getElementById('confirm-ok') as HTMLButtonElement).focus();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

// ---- pages ------------------------------------------------------------------------------------

let pageAbort = new AbortController();
let refreshTimer: number | undefined;

function cellOf(c: GridCell, compact: boolean): HTMLElement {
  const label = `${c.outcome}${c.attempts > 1 ? `, ${c.attempts} attempts` : ''} — ${fmtTime(c.time)}${c.manual ? ' (manual)' : ''}${c.message ? ` — ${c.message}` : ''}`;
  const text = c.outcome === 'Missed' || c.outcome === 'Skipped' ? '–' : String(c.attempts);
  const cls = `cell o-${c.outcome}${compact ? ' small' : ''}`;
  if (!c.run) return h('span', { class: cls, title: label, 'aria-label': label, role: 'img' }, text);
  return h('a', { class: cls, href: `#/runs/${encodeURIComponent(c.run)}`, title: label, 'aria-label': label, 'data-run': c.run, 'data-outcome': c.outcome }, text);
}

function stateCell(r: JobRow): HTMLElement {
  return h(
    'div',
    { class: 'state' },
    badge(r.state === 'NotReady' ? 'Not ready' : r.state, `s-${r.state}`),
    r.suspended ? badge('Suspended', 's-Suspended') : null,
    r.reason ? h('div', { class: 'reason' }, r.reason) : null,
  );
}

function sourceCell(r: JobRow): HTMLElement {
  if (r.source.kind === 'directory') return h('span', { class: 'source' }, h('code', {}, r.source.file), r.source.revision ? h('span', { class: 'muted' }, ` @ ${r.source.revision}`) : null);
  return h('span', { class: 'source' }, 'API', r.source.fieldManager ? h('span', { class: 'muted' }, ` (${r.source.fieldManager})`) : null);
}

function lastRunCell(r: JobRow): HTMLElement {
  const l = r.lastRun;
  if (!l) return h('span', { class: 'muted' }, r.lastScheduleTime ? fmtTime(r.lastScheduleTime) : 'never');
  const took = l.startedAt !== undefined && l.finishedAt !== undefined ? fmtDuration(l.finishedAt - l.startedAt) : l.startedAt !== undefined ? `running ${fmtDuration(Date.now() - l.startedAt)}` : '';
  return h('div', {}, h('a', { href: `#/runs/${encodeURIComponent(l.id)}`, class: `outcome o-${l.phase}` }, l.phase), ' ', h('div', { class: 'small' }, fmtTime(l.time), took ? ` · ${took}` : ''));
}

function scheduleCell(r: JobRow): HTMLElement {
  return h('div', {}, h('div', {}, r.words), r.schedule ? h('code', { class: 'cron' }, r.schedule) : null);
}

interface JobsState { q: string; sort: string; dir: string; page: number }

function jobsState(params: URLSearchParams): JobsState {
  return { q: params.get('q') ?? '', sort: params.get('sort') ?? 'name', dir: params.get('dir') ?? 'asc', page: Math.max(0, Number(params.get('page') ?? 0) || 0) };
}

function jobsHash(s: JobsState): string {
  const p = new URLSearchParams();
  if (s.q) p.set('q', s.q);
  if (s.sort !== 'name') p.set('sort', s.sort);
  if (s.dir !== 'asc') p.set('dir', s.dir);
  if (s.page) p.set('page', String(s.page));
  const q = p.toString();
  return `#/${q ? `?${q}` : ''}`;
}

async function jobsPage(params: URLSearchParams, signal: AbortSignal): Promise<void> {
  const state = jobsState(params);
  const started = performance.now();
  const filter = h('input', { type: 'search', id: 'filter', placeholder: 'name, or label key=value', value: state.q, 'aria-label': 'Filter jobs by name or label (key=value)' });
  let debounce: number | undefined;
  filter.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = window.setTimeout(() => history.replaceState(null, '', jobsHash({ ...state, q: filter.value, page: 0 })) === undefined && void load(true), 200);
  });
  const count = h('span', { class: 'count', id: 'count', 'aria-live': 'polite' });
  const pager = h('div', { class: 'pager' });
  const tbody = h('tbody', { id: 'jobs-body' });
  const header = (key: string, text: string): HTMLElement => {
    const sorted = state.sort === key;
    const next = sorted && state.dir === 'asc' ? 'desc' : 'asc';
    return h('th', { scope: 'col', 'aria-sort': sorted ? (state.dir === 'asc' ? 'ascending' : 'descending') : 'none' }, h('a', { href: jobsHash({ ...state, sort: key, dir: next, page: 0 }), class: 'sort', 'data-sort': key }, text, sorted ? (state.dir === 'asc' ? ' ▲' : ' ▼') : ''));
  };
  app.replaceChildren(
    h('h1', {}, 'Jobs'),
    h('div', { class: 'toolbar' }, h('label', { for: 'filter' }, 'Filter '), filter, count),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'jobs' },
        h('thead', {}, h('tr', {}, header('name', 'Name'), h('th', { scope: 'col' }, 'Schedule'), h('th', { scope: 'col' }, 'Time zone'), header('state', 'State'), header('last', 'Last run'), header('next', 'Next run'), h('th', { scope: 'col' }, 'Source'), h('th', { scope: 'col' }, 'Recent runs'))),
        tbody,
      ),
    ),
    pager,
  );
  const load = async (fromFilter = false): Promise<void> => {
    const s = fromFilter ? { ...state, q: filter.value, page: 0 } : state;
    if (fromFilter) Object.assign(state, s);
    const url = `/ui/api/jobs?q=${encodeURIComponent(s.q)}&sort=${s.sort}&dir=${s.dir}&offset=${s.page * PAGE_SIZE}&limit=${PAGE_SIZE}`;
    const page = await getJson<JobPage>(url, signal);
    tbody.replaceChildren(
      ...page.items.map((r) =>
        h('tr', { 'data-job': r.name },
          h('th', { scope: 'row' }, h('a', { href: `#/jobs/${encodeURIComponent(r.name)}` }, r.name), Object.keys(r.labels).length ? h('div', { class: 'labels' }, ...Object.entries(r.labels).map(([k, v]) => h('span', { class: 'label' }, `${k}=${v}`))) : null),
          h('td', {}, scheduleCell(r)),
          h('td', {}, r.timeZone),
          h('td', {}, stateCell(r)),
          h('td', {}, lastRunCell(r)),
          h('td', {}, r.nextScheduleTime ? when(r.nextScheduleTime) : h('span', { class: 'muted' }, r.suspended ? 'suspended' : '—')),
          h('td', {}, sourceCell(r)),
          h('td', {}, h('div', { class: 'grid mini' }, ...(r.recent ?? []).map((c) => cellOf(c, true)))),
        ),
      ),
    );
    if (page.items.length === 0) tbody.append(h('tr', {}, h('td', { colspan: '8', class: 'muted' }, page.total === 0 ? 'No jobs yet.' : 'No job matches the filter.')));
    const pages = Math.max(1, Math.ceil(page.matched / PAGE_SIZE));
    count.textContent = `${page.matched === page.total ? page.total : `${page.matched} of ${page.total}`} jobs`;
    pager.replaceChildren(
      state.page > 0 ? h('a', { href: jobsHash({ ...state, page: state.page - 1 }), class: 'button', rel: 'prev' }, '← Previous') : h('span', { class: 'button disabled', 'aria-disabled': 'true' }, '← Previous'),
      h('span', {}, ` Page ${state.page + 1} of ${pages} `),
      state.page + 1 < pages ? h('a', { href: jobsHash({ ...state, page: state.page + 1 }), class: 'button', rel: 'next' }, 'Next →') : h('span', { class: 'button disabled', 'aria-disabled': 'true' }, 'Next →'),
    );
  };
  await load();
  document.body.dataset.rendered = String(Math.round(performance.now() - started));
  refreshTimer = window.setInterval(() => {
    if (document.visibilityState === 'visible') load().catch(quiet);
  }, 5000);
}

async function jobPage(name: string, signal: AbortSignal): Promise<void> {
  const root = h('div', { class: 'job' });
  app.replaceChildren(root);
  let pending: number | undefined;
  const render = async (): Promise<void> => {
    const d = await getJson<JobDetail>(`/ui/api/jobs/${encodeURIComponent(name)}?cells=30`, signal);
    const act = (verb: 'trigger' | 'suspend' | 'resume', label: string, question: string): HTMLElement =>
      h('button', {
        type: 'button', id: `action-${verb}`, class: verb === 'trigger' ? 'primary' : '',
        onclick: async () => {
          if (!(await confirmAction(question))) return;
          const res = await request('POST', `${API}/containerjobs/${encodeURIComponent(name)}/${verb}`).catch((e) => (quiet(e), undefined));
          if (!res) return;
          if (!res.ok) showError(new Error(`${res.status}: ${(await res.json().catch(() => ({}))).message ?? res.statusText}`));
          else {
            const body = verb === 'trigger' ? ((await res.json()) as { run?: string }) : {};
            flash(verb === 'trigger' ? `Run ${body.run ?? ''} requested.` : verb === 'suspend' ? 'Suspended.' : 'Resumed.');
            await render().catch(quiet);
          }
        },
      }, label);
    root.replaceChildren(h('div', {},
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Jobs'), ' / ', name),
      h('h1', {}, name, ' ', badge(d.state === 'NotReady' ? 'Not ready' : d.state, `s-${d.state}`), d.suspended ? badge('Suspended', 's-Suspended') : null),
      h('div', { class: 'actions' },
        act('trigger', 'Run now', `Start a run of ${name} now?`),
        d.suspended ? act('resume', 'Resume', `Resume ${name}? Slots missed while suspended are not run.`) : act('suspend', 'Suspend', `Suspend ${name}? Its slots are missed until it resumes.`),
      ),
      d.readOnly ? h('p', { class: 'note', id: 'read-only' }, `Read-only: ${d.readOnly}.`) : null,
      d.reason ? h('pre', { class: 'reason', id: 'reason' }, d.reason) : null,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Schedule'), h('dd', {}, d.words, ' ', d.schedule ? h('code', {}, d.schedule) : null),
        h('dt', {}, 'Time zone'), h('dd', {}, d.timeZone),
        h('dt', {}, 'Next run'), h('dd', { id: 'next-run' }, d.nextScheduleTime ? when(d.nextScheduleTime) : d.suspended ? 'suspended' : '—'),
        h('dt', {}, 'Last run'), h('dd', {}, lastRunCell(d)),
        h('dt', {}, 'Source'), h('dd', {}, sourceCell(d)),
        h('dt', {}, 'Labels'), h('dd', {}, Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '—'),
      ),
      h('h2', {}, 'Runs'),
      h('div', { class: 'grid', id: 'grid', role: 'list', 'aria-label': 'last runs, oldest first' }, ...(d.grid.length ? d.grid.map((c) => cellOf(c, false)) : [h('span', { class: 'muted' }, 'No runs yet.')])),
      legend(),
      h('h2', {}, 'Events'),
      h('ul', { class: 'events' }, ...d.events.slice().reverse().map((e) => h('li', { class: e.type === 'Warning' ? 'warn' : '' }, h('span', { class: 'muted' }, fmtTime(e.time)), ` ${e.reason}: ${e.message}`))),
    ));
  };
  await render();
  // live: the job's runs and the job itself, as watch streams; each change re-reads the page's view
  const again = (): void => {
    clearTimeout(pending);
    pending = window.setTimeout(() => render().catch(quiet), 150);
  };
  const field = (s: string): string => encodeURIComponent(s);
  void watch(`${API}/containerjobruns?watch=true&fieldSelector=${field(`spec.job=${name}`)}`, signal, again).catch(quiet);
  void watch(`${API}/containerjobs?watch=true&fieldSelector=${field(`metadata.name=${name}`)}`, signal, again).catch(quiet);
}

/** A run's verb (clear, cancel) behind a confirmation; `after` re-reads the page. */
function runAction(id: string, verb: 'clear' | 'cancel', label: string, question: string, after: () => Promise<void>): HTMLElement {
  return h('button', {
    type: 'button', id: `action-${verb}`,
    onclick: async () => {
      if (!(await confirmAction(question))) return;
      const res = await request('POST', `${API}/containerjobruns/${encodeURIComponent(id)}/${verb}`).catch((e) => (quiet(e), undefined));
      if (!res) return;
      if (!res.ok) showError(new Error(`${res.status}: ${(await res.json().catch(() => ({}))).message ?? res.statusText}`));
      else {
        flash(verb === 'clear' ? 'Cleared: it runs again.' : 'Cancel requested.');
        await after().catch(quiet);
      }
    },
  }, label);
}

function legend(): HTMLElement {
  return h('p', { class: 'legend' }, ...(['Succeeded', 'Failed', 'Running', 'Retrying', 'Pending', 'Waiting', 'UpstreamFailed', 'Missed', 'Skipped'] as Outcome[]).map((o) => h('span', {}, h('span', { class: `cell small o-${o}`, 'aria-hidden': 'true' }), ` ${o === 'Skipped' ? 'Skipped (concurrency policy)' : o} `)), h('span', { class: 'muted' }, '(number = attempts)'));
}

function flash(text: string): void {
  const el = h('p', { class: 'flash', role: 'status' }, text);
  app.prepend(el);
  setTimeout(() => el.remove(), 4000);
}

async function runPage(id: string, signal: AbortSignal): Promise<void> {
  const logs = new Map<number, HTMLElement>();
  const root = h('div', { class: 'run' });
  const logBox = h('div', { id: 'logs' });
  app.replaceChildren(root, logBox);
  const follow = (a: Attempt, live: boolean): void => {
    if (logs.has(a.attempt)) return;
    const pre = h('pre', { class: 'log', id: `log-${a.attempt}`, tabindex: '0', 'aria-label': `log of attempt ${a.attempt}` });
    const status = h('span', { class: 'muted', id: `log-status-${a.attempt}` }, live ? 'following…' : 'loading…');
    logs.set(a.attempt, pre);
    logBox.append(h('section', {}, h('h2', {}, `Log of attempt ${a.attempt} `, status), pre));
    stream(`${API}/containerjobruns/${encodeURIComponent(id)}/log?attempt=${a.attempt}${live ? '&follow=true' : ''}`, signal, (text) => pre.append(text))
      .then(() => {
        status.textContent = pre.textContent ? 'complete' : 'empty';
        document.body.dataset.logDone = String(a.attempt);
      })
      .catch(quiet);
  };
  const render = async (): Promise<void> => {
    const r = await getJson<RunDetail>(`/ui/api/runs/${encodeURIComponent(id)}`, signal);
    const active = r.phase === 'Pending' || r.phase === 'Running' || r.phase === 'Retrying' || r.phase === 'Waiting';
    root.replaceChildren(
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Jobs'), ' / ', h('a', { href: `#/jobs/${encodeURIComponent(r.job)}` }, r.job), ' / ', r.id),
      h('h1', {}, r.id, ' ', h('span', { class: `outcome o-${r.phase}`, id: 'run-phase' }, r.phase)),
      h('div', { class: 'actions' },
        active
          ? runAction(id, 'cancel', 'Cancel run', `Cancel ${id}? Its running attempt is stopped and the run fails.`, render)
          : runAction(id, 'clear', 'Clear (run again)', `Clear ${id}? It runs again as a new attempt.`, render),
      ),
      h('dl', { class: 'facts' },
        h('dt', {}, r.manual ? 'Triggered' : 'Scheduled for'), h('dd', {}, fmtTime(r.scheduledTime), r.manual ? ' (manual run)' : ''),
        h('dt', {}, 'Data interval'), h('dd', { id: 'data-interval' }, `${fmtTime(r.dataIntervalStart)} → ${fmtTime(r.dataIntervalEnd)}`),
        h('dt', {}, 'Finished'), h('dd', {}, r.finishedAt !== undefined ? fmtTime(r.finishedAt) : '—'),
        r.nextAttemptAt !== undefined ? h('dt', {}, 'Next attempt') : null, r.nextAttemptAt !== undefined ? h('dd', {}, when(r.nextAttemptAt)) : null,
      ),
      h('h2', {}, 'Attempts'),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'attempts' },
          h('thead', {}, h('tr', {}, ...['#', 'Phase', 'Container group', 'Created', 'Started', 'Finished', 'Took', 'Exit code', 'Reason'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, ...r.attempts.map((a) =>
            h('tr', { 'data-attempt': String(a.attempt) },
              h('td', {}, String(a.attempt)),
              h('td', {}, h('span', { class: `outcome o-${a.phase}` }, a.phase)),
              h('td', {}, h('code', {}, a.groupName)),
              h('td', {}, fmtTime(a.createdAt)),
              h('td', {}, fmtTime(a.startedAt)),
              h('td', {}, fmtTime(a.finishedAt)),
              h('td', {}, a.startedAt !== undefined && a.finishedAt !== undefined ? fmtDuration(a.finishedAt - a.startedAt) : '—'),
              h('td', { class: 'exit' }, a.exitCode === undefined || a.exitCode === null ? '—' : String(a.exitCode)),
              h('td', {}, [a.reason, a.message].filter(Boolean).join(': ') || '—'),
            ))),
        ),
      ),
    );
    for (const a of r.attempts) follow(a, active && (a.phase === 'Creating' || a.phase === 'Running'));
  };
  await render();
  let pending: number | undefined;
  void watch(`${API}/containerjobruns?watch=true&fieldSelector=${encodeURIComponent(`metadata.name=${id}`)}`, signal, () => {
    clearTimeout(pending);
    pending = window.setTimeout(() => render().catch(quiet), 150);
  }).catch(quiet);
}

// ---- routing ----------------------------------------------------------------------------------

async function route(): Promise<void> {
  pageAbort.abort();
  pageAbort = new AbortController();
  clearInterval(refreshTimer);
  const signal = pageAbort.signal;
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?', 2) as [string, string | undefined];
  const params = new URLSearchParams(query ?? '');
  delete document.body.dataset.rendered;
  try {
    let m: RegExpExecArray | null;
    if ((m = /^\/jobs\/([^/]+)$/.exec(path))) await jobPage(decodeURIComponent(m[1]!), signal);
    else if ((m = /^\/runs\/([^/]+)$/.exec(path))) await runPage(decodeURIComponent(m[1]!), signal);
    else await jobsPage(params, signal);
    document.title = `acictl — ${app.querySelector('h1')?.textContent ?? ''}`;
  } catch (err) {
    quiet(err);
  }
}

document.getElementById('logout')?.addEventListener('click', () => {
  request('POST', '/logout')
    .then(() => (location.href = '/login'))
    .catch(quiet);
});
window.addEventListener('hashchange', () => void route());
void route();
