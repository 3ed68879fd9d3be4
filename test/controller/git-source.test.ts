/**
 * Issue 17: `--git` sources against a real Git server on loopback (git http-backend behind a node
 * HTTP server): commit → Ready at that commit; edit; a broken file isolates its job (line, previous
 * revision kept); delete → pruned; a force-push, a deleted branch, a stopped server and a corrupt
 * mirror delete nothing and show on the source; the HMAC webhook applies a push in seconds.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { startController, type RunningController } from '../../src/controller/controller';
import type { GitSourceSpec, GitSourceStatus } from '../../src/controller/git-source';
import { signGitWebhook } from '../../src/controller/git-webhook';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import type { StoredJob } from '../../src/store/types';
import { inProcessOptions } from '../fixtures/in-process-controller';
import { jobYaml } from '../fixtures/job-yaml';
import { startGitHttpServer, TestRepo, type GitHttpServer } from './git-server';

jest.setTimeout(120_000);

let dir: string;
let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ runtime: 'simulate', throttling: 'off', lroDelayMs: 10 });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'acictl-git-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const HOOK_SECRET = 'hook-secret-for-tests';

async function start(
  git: GitSourceSpec[],
  o: { logs?: string[]; env?: Record<string, string>; allowEmpty?: boolean } = {},
): Promise<RunningController> {
  const sink = { write: (line: string) => void o.logs?.push(line) };
  return startController(
    inProcessOptions(emu, {
      git,
      gitWebhookSecret: () => HOOK_SECRET,
      stateDir: path.join(dir, 'state'),
      allowEmpty: o.allowEmpty ?? false,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, ...(o.env ?? {}) },
      logger: pino({ level: 'debug' }, sink),
    }),
  );
}

async function waitFor<T>(what: string, f: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function sources(c: RunningController): Promise<GitSourceStatus[]> {
  const token = readFileSync(path.join(c.stateDir, 'token'), 'utf8').trim();
  const res = await fetch(`${c.url}/acictl/v1/sources`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: GitSourceStatus[] }).items.filter((s) => s.kind === 'git');
}

async function hook(c: RunningController, secret = HOOK_SECRET): Promise<number> {
  const body = JSON.stringify({ ref: 'refs/heads/main' });
  const res = await fetch(`${c.url}/hooks/git`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signGitWebhook(secret, body) } });
  await res.text();
  return res.status;
}

const job = (c: RunningController, name: string): Promise<StoredJob | undefined> => c.store.getJob(name);
const ready = (j: StoredJob | undefined) => j?.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');

test('commit, edit, broken file, delete, force-push — each applied through the webhook in seconds', async () => {
  const repo = new TestRepo(path.join(dir, 'srv'), 'jobs', path.join(dir, 'work'));
  const c1 = repo.commit({ 'jobs/a.yaml': jobYaml('job-a'), 'jobs/b.yaml': jobYaml('job-b'), 'README.md': 'not a manifest\n' });
  const server = await startGitHttpServer({ projectRoot: path.join(dir, 'srv') });
  // an interval far beyond the test: every change below arrives through the webhook
  const ctl = await start([{ url: `${server.url}/jobs.git`, ref: 'main', path: 'jobs', intervalMs: 3_600_000 }]);
  const latencies: number[] = [];
  const push = async (files: Record<string, string | null>, until: () => unknown): Promise<string> => {
    const sha = repo.commit(files);
    const t0 = Date.now();
    expect(await hook(ctl)).toBe(202);
    await waitFor(`commit ${sha} applied`, until);
    latencies.push(Date.now() - t0);
    return sha;
  };
  try {
    // 1. commit a job: Ready, with that commit as its revision
    const a1 = await waitFor('job-a Ready', async () => ready(await job(ctl, 'job-a')) && await job(ctl, 'job-a'));
    expect(a1.status.sourceRevision).toBe(c1);
    expect(a1.source).toMatchObject({ kind: 'directory', revision: c1 });
    let [src] = await sources(ctl);
    expect(src).toMatchObject({ lastAppliedRevision: c1, lastAttemptedRevision: c1, ref: 'main', path: 'jobs' });
    expect(src.conditions.find((x) => x.type === 'Ready')?.status).toBe('True');
    expect(src.lastFetchTime).toBeDefined();

    // 2. an edit is applied
    const c2 = await push({ 'jobs/a.yaml': jobYaml('job-a', { image: 'registry.example.com/app:2' }) }, async () => (await job(ctl, 'job-a'))?.status.sourceRevision !== c1 && ready(await job(ctl, 'job-a')));
    expect((await job(ctl, 'job-a'))!.spec.template.containers[0].image).toBe('registry.example.com/app:2');
    expect((await job(ctl, 'job-a'))!.status.sourceRevision).toBe(c2);
    expect((await job(ctl, 'job-b'))!.status.sourceRevision).toBe(c2);

    // 3. a broken file: only its job is Invalid, with the file's line, and keeps the previous revision
    const broken = jobYaml('job-b', { image: 'registry.example.com/app:3' }).replace('location: eastus', 'locashun: eastus');
    const brokenLine = broken.split('\n').findIndex((l) => l.includes('locashun')) + 1;
    const c3 = await push({ 'jobs/b.yaml': broken, 'jobs/a.yaml': jobYaml('job-a', { image: 'registry.example.com/app:3' }) }, async () =>
      (await job(ctl, 'job-b'))?.status.conditions?.some((x) => x.type === 'Invalid' && x.status === 'True'),
    );
    const b3 = (await job(ctl, 'job-b'))!;
    const inv = b3.status.conditions!.find((x) => x.type === 'Invalid')!;
    expect(inv.message).toContain(`b.yaml:${brokenLine}:`);
    expect(b3.status.sourceRevision).toBe(c2); // the previous revision, kept for it
    expect(b3.spec.template.containers[0].image).toBe('registry.example.com/app:1'); // its last good spec
    await waitFor('job-a at c3', async () => (await job(ctl, 'job-a'))?.status.sourceRevision === c3);
    expect((await job(ctl, 'job-a'))!.spec.template.containers[0].image).toBe('registry.example.com/app:3');
    [src] = await sources(ctl);
    expect(src.lastAppliedRevision).toBe(c3);

    // 4. delete a file: its job is pruned
    const c4 = await push({ 'jobs/a.yaml': null, 'jobs/b.yaml': jobYaml('job-b') }, async () => {
      const a = await job(ctl, 'job-a');
      return !a || a.deletionTimestamp;
    });
    await waitFor('job-b valid at c4', async () => (await job(ctl, 'job-b'))?.status.sourceRevision === c4 && ready(await job(ctl, 'job-b')));

    // 5. a force-push of an older history: held, nothing deleted, a Warning on the source
    repo.forcePush(c2);
    expect(await hook(ctl)).toBe(202);
    [src] = await waitFor('NonFastForward warning', async () => {
      const s = await sources(ctl);
      return s[0].conditions.some((x) => x.type === 'Warning' && x.reason === 'NonFastForward') && s;
    });
    expect(src.lastAppliedRevision).toBe(c4);
    expect(src.lastAttemptedRevision).toBe(c2);
    expect(src.conditions.find((x) => x.type === 'Ready')?.status).toBe('False');
    expect(await job(ctl, 'job-b')).toBeDefined();
    expect((await job(ctl, 'job-b'))!.deletionTimestamp).toBeFalsy();
    expect((await job(ctl, 'job-b'))!.status.sourceRevision).toBe(c4);
    // a new commit on top of the rewritten history is still not a descendant of c4: held too
    const c6 = repo.commit({ 'jobs/c.yaml': jobYaml('job-c') });
    expect(await hook(ctl)).toBe(202);
    await waitFor('c6 attempted', async () => (await sources(ctl))[0].lastAttemptedRevision === c6);
    expect(await job(ctl, 'job-c')).toBeUndefined();
    expect((await job(ctl, 'job-b'))!.deletionTimestamp).toBeFalsy();
    // the branch back where it was: the warning clears
    repo.forcePush(c4);
    expect(await hook(ctl)).toBe(202);
    await waitFor('Ready again', async () => (await sources(ctl))[0].conditions.every((x) => x.type !== 'Warning'));

    // a webhook with a wrong signature is refused and triggers nothing
    const before = server.requests;
    expect(await hook(ctl, 'wrong')).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.requests).toBe(before);

    // the figure: push → applied through the webhook
    latencies.sort((x, y) => x - y);
    process.stdout.write(`git webhook push→applied ms: ${latencies.join(', ')}\n`);
    expect(latencies[latencies.length - 1]).toBeLessThan(5_000);
  } finally {
    await ctl.stop();
    await server.close();
  }
});

test('without the webhook a push is applied within one interval; a stopped server, a deleted branch and a corrupt mirror delete nothing', async () => {
  const repo = new TestRepo(path.join(dir, 'srv'), 'jobs', path.join(dir, 'work'));
  const c1 = repo.commit({ 'a.yaml': jobYaml('job-a'), 'b.yaml': jobYaml('job-b') });
  const server = await startGitHttpServer({ projectRoot: path.join(dir, 'srv') });
  const port = Number(new URL(server.url).port);
  let server2: GitHttpServer | undefined;
  const logs: string[] = [];
  let ctl = await start([{ url: `${server.url}/jobs.git`, ref: 'main', intervalMs: 1_000 }], { allowEmpty: true, logs });
  try {
    await waitFor('jobs at c1', async () => (await job(ctl, 'job-a'))?.status.sourceRevision === c1 && (await job(ctl, 'job-b'))?.status.sourceRevision === c1);

    // polling: at most one interval (plus the pass)
    const c2 = repo.commit({ 'a.yaml': jobYaml('job-a', { image: 'registry.example.com/app:2' }) });
    const t0 = Date.now();
    await waitFor('c2 by polling', async () => (await job(ctl, 'job-a'))?.status.sourceRevision === c2, 5_000);
    const took = Date.now() - t0;
    process.stdout.write(`git poll (1 s interval) push→applied ms: ${took}\n`);
    expect(took).toBeLessThan(2_500);

    // the server stops: the source shows the error, nothing is deleted — even with --allow-empty
    await server.close();
    repo.commit({ 'a.yaml': null, 'b.yaml': null }); // would empty the tree, were it fetched
    const [down] = await waitFor('fetch error', async () => {
      const s = await sources(ctl);
      return s[0].lastFetchError ? s : undefined;
    });
    expect(down.lastFetchError).toMatch(/fetch of http:\/\/127\.0\.0\.1:\d+\/jobs\.git failed/);
    expect(down.conditions.find((x) => x.type === 'Warning')?.reason).toBe('FetchFailed');
    expect(down.lastAppliedRevision).toBe(c2);
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await job(ctl, 'job-a'))?.deletionTimestamp).toBeFalsy();
    expect((await job(ctl, 'job-b'))?.deletionTimestamp).toBeFalsy();
    const metrics = await (await fetch(`${ctl.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`acictl_git_source_ready\\{source="${down.name}"\\} 0`));
    expect(metrics).toMatch(/acictl_git_source_fetch_failures_total\{source="jobs-[0-9a-f]+"\} [1-9]/);
    expect(metrics).toContain(`applied="${c2}"`);

    // back on the same port; restore the files, then delete the branch: not found, nothing deleted
    server2 = await startGitHttpServer({ projectRoot: path.join(dir, 'srv'), port });
    const c4 = repo.commit({ 'a.yaml': jobYaml('job-a', { image: 'registry.example.com/app:2' }), 'b.yaml': jobYaml('job-b') });
    await waitFor('c4 after the server is back', async () => (await sources(ctl))[0].lastAppliedRevision === c4);
    expect((await sources(ctl))[0].lastFetchError).toBeUndefined();
    repo.deleteBranch();
    const [gone] = await waitFor('a missing ref', async () => {
      const s = await sources(ctl);
      return /main not found/.test(s[0].lastFetchError ?? '') && s;
    });
    expect(gone.conditions.find((x) => x.type === 'Warning')?.message).toContain(`keeping revision ${c4}`);
    expect(gone.lastAppliedRevision).toBe(c4);
    expect((await job(ctl, 'job-a'))?.deletionTimestamp).toBeFalsy();
    expect((await job(ctl, 'job-b'))?.deletionTimestamp).toBeFalsy();
    repo.forcePush(c4); // main is back
    await waitFor('the ref back', async () => (await sources(ctl))[0].lastFetchError === undefined);

    // a corrupt mirror: moved aside and fetched again; the jobs stay meanwhile
    const mirror = path.join(path.dirname((await sources(ctl))[0].root), 'mirror.git');
    rmSync(path.join(mirror, 'objects'), { recursive: true, force: true });
    const c5 = repo.commit({ 'c.yaml': jobYaml('job-c') });
    await waitFor('job-c after the mirror was refetched', async () => (await job(ctl, 'job-c'))?.status.sourceRevision === c5);
    expect(logs.some((l) => l.includes('the mirror is unusable; fetching it again'))).toBe(true);
    expect((await job(ctl, 'job-a'))?.deletionTimestamp).toBeFalsy();

    // a restart while the server is down: the last checkout is read, nothing is deleted, the
    // applied revision is remembered and the error shows
    await ctl.stop();
    await server2.close();
    server2 = undefined;
    ctl = await start([{ url: `${server.url}/jobs.git`, ref: 'main', intervalMs: 1_000 }], { allowEmpty: true, logs });
    const [again] = await sources(ctl);
    expect(again.lastAppliedRevision).toBe(c5);
    expect(again.lastFetchError).toMatch(/failed/);
    for (const n of ['job-a', 'job-b', 'job-c']) {
      expect((await job(ctl, n))?.deletionTimestamp).toBeFalsy();
      expect((await job(ctl, n))?.status.sourceRevision).toBe(c5);
    }
  } finally {
    await ctl.stop();
    await server2?.close();
  }
});
