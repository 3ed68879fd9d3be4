/**
 * The web UI's authentication against the API server in-process (issue #15 acceptance 3): no data
 * without a session, the login exchange, the session cookie's attributes, CSRF protection of every
 * state-changing request made with the cookie, and `--ui=false`.
 */
import { startApiServer, type ApiServer } from '../../src/apiserver/server';
import { MemoryStore } from '../../src/store/memory';
import { validateObject } from '../../src/manifest/validate';
import { WebUi } from '../../src/ui/server';
import { jobObject } from '../cli/harness';
import { cleanupDirs, startControllerProcess, startTestEmulator, waitUntil } from '../e2e/harness';

const TOKEN = 'ui-auth-test-token-0123456789abcdef';

describe('web UI authentication and CSRF', () => {
  let server: ApiServer;
  let store: MemoryStore;
  let ui: WebUi;
  let now = Date.parse('2026-06-01T12:00:00Z');
  const triggered: string[] = [];

  beforeAll(async () => {
    store = new MemoryStore();
    const job = jobObject('alpha', { team: 'data' });
    await store.putJob({ name: 'alpha', labels: { team: 'data' }, annotations: {}, finalizers: [], spec: job.spec, source: { kind: 'api' }, status: {} });
    ui = new WebUi({ store, token: TOKEN, now: () => now });
    server = await startApiServer(
      {
        store,
        token: TOKEN,
        validate: (obj, o) => validateObject(obj, o) as never,
        enqueue: () => undefined,
        trigger: async (name) => {
          triggered.push(name);
          return { run: `${name}-m1` };
        },
        setSuspended: async () => undefined,
        logs: async function* () {},
        metrics: async () => ({ contentType: 'text/plain', body: '' }),
        ready: () => true,
        ui,
      },
      { host: '127.0.0.1', port: 0 },
    );
  });
  afterAll(() => server.close());

  const get = (p: string, headers: Record<string, string> = {}) => fetch(server.url + p, { headers, redirect: 'manual' });
  const post = (p: string, headers: Record<string, string> = {}, body?: string) => fetch(server.url + p, { method: 'POST', headers, body, redirect: 'manual' });

  async function login(): Promise<{ cookie: string; csrf: string }> {
    const res = await get(`/login?token=${TOKEN}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const set = res.headers.get('set-cookie')!;
    expect(set).toMatch(/^acictl_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const cookie = set.split(';')[0]!;
    const page = await (await get('/', { cookie })).text();
    const csrf = /name="acictl-csrf" content="([^"]+)"/.exec(page)![1]!;
    return { cookie, csrf };
  }

  test('without a session: / redirects to the login page, every UI path and the API answer 401, the login page shows no data', async () => {
    const root = await get('/');
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/login');
    for (const p of ['/ui/api/jobs', '/ui/api/jobs/alpha', '/ui/api/runs/x', '/ui/static/app.js', '/ui/static/app.css', '/apis/acictl.dev/v1/containerjobs']) {
      expect([p, (await get(p)).status]).toEqual([p, 401]);
    }
    const page = await get('/login');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/login">');
    expect(html).not.toContain('alpha');
    expect(html).not.toContain('<script');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  test('a wrong token, a forged or expired cookie get nothing', async () => {
    expect((await get('/login?token=wrong')).status).toBe(401);
    const { cookie } = await login();
    const forged = cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await get('/ui/api/jobs', { cookie: forged })).status).toBe(401);
    expect((await get('/apis/acictl.dev/v1/containerjobs', { cookie: forged })).status).toBe(401);
    expect((await get('/ui/api/jobs', { cookie })).status).toBe(200);
    now += 13 * 3_600_000;
    try {
      expect((await get('/ui/api/jobs', { cookie })).status).toBe(401);
    } finally {
      now -= 13 * 3_600_000;
    }
  });

  test('a session reads the UI views and the API; the token never appears in the redirect', async () => {
    const { cookie } = await login();
    const rows = await (await get('/ui/api/jobs', { cookie })).json();
    expect(rows).toMatchObject({ total: 1, matched: 1, items: [{ name: 'alpha', labels: { team: 'data' } }] });
    expect((await get('/ui/api/jobs/%E0%A4%A', { cookie })).status).toBe(400);
    const list = (await (await get('/apis/acictl.dev/v1/containerjobs', { cookie })).json()) as { items: { metadata: { name: string } }[] };
    expect(list.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['alpha']);
  });

  test('the login form works too; a login link works once', async () => {
    const form = await post('/login', { 'content-type': 'application/x-www-form-urlencoded' }, `token=${TOKEN}`);
    expect(form.status).toBe(303);
    expect(form.headers.get('set-cookie')).toMatch(/^acictl_session=/);
    const link = ui.loginLink(server.url);
    const code = new URL(link).searchParams.get('token')!;
    expect(code).not.toContain(TOKEN);
    expect((await get(`/login?token=${code}`)).status).toBe(303);
    expect((await get(`/login?token=${code}`)).status).toBe(401);
  });

  test('state-changing requests with the cookie need the CSRF proof, from the same origin', async () => {
    const { cookie, csrf } = await login();
    const trigger = '/apis/acictl.dev/v1/containerjobs/alpha/trigger';
    const before = triggered.length;
    // a cross-site form post carries the cookie (were it not SameSite) but no proof
    expect((await post(trigger, { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, 'x=1')).status).toBe(403);
    expect((await post(trigger, { cookie })).status).toBe(403);
    expect((await post(trigger, { cookie, 'x-csrf-token': 'not-the-proof' })).status).toBe(403);
    expect((await post(trigger, { cookie, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post(trigger, { cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' })).status).toBe(403);
    expect((await fetch(server.url + '/apis/acictl.dev/v1/containerjobs/alpha', { method: 'DELETE', headers: { cookie } })).status).toBe(403);
    expect((await post('/logout', { cookie })).status).toBe(403);
    expect(triggered.length).toBe(before);
    expect(await store.getJob('alpha')).toBeDefined();
    // with the proof, from the page's own origin
    const host = new URL(server.url).host;
    const ok = await post(trigger, { cookie, 'x-csrf-token': csrf, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(201);
    expect(triggered.length).toBe(before + 1);
    // the bearer token needs no CSRF proof (a browser cannot send it cross-site): the CLI is unchanged
    expect((await post(trigger, { authorization: `Bearer ${TOKEN}` })).status).toBe(201);
    const out = await post('/logout', { cookie, 'x-csrf-token': csrf });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
  });
});

describe('acictl controller --ui=false', () => {
  test('serves no UI and logs no login link', async () => {
    const emu = await startTestEmulator();
    const ctl = startControllerProcess(emu, { args: ['--ui=false'] });
    try {
      await ctl.ready();
      const root = await fetch(ctl.url + '/', { redirect: 'manual' });
      expect(root.status).toBe(401); // the API's answer: no UI mounted, no redirect to a login page
      expect((await fetch(ctl.url + '/login')).status).toBe(401);
      await waitUntil('start-up logged', () => ctl.lines().some((l) => /listening/.test(l.msg)));
      expect(ctl.lines().some((l) => 'loginUrl' in l)).toBe(false);
    } finally {
      await ctl.stop();
      await emu.close();
      cleanupDirs(ctl.stateDir);
    }
  }, 60_000);
});
