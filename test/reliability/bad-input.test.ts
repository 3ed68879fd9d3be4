/**
 * Bad input (issue 8): a corpus of malformed files dropped into a watched directory while valid jobs
 * run. Invariants 3 (invalid is not deleted) and 9 (one bad thing stays local), with Invariant 2
 * (ownership) checked on planted groups. When the suite runs as root, the controller runs as
 * `nobody` so that chmod 000 / a directory without x permission are really unreadable to it.
 */
import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ControllerProcess, jobYaml, startTestEmulator } from '../e2e/harness';
import type { RunningEmulator } from '../../src/emulator';
import { writeBadCorpus, renameStorm, writeUnreadableSubdir, type BadFile } from './lib/bad-corpus';
import { fmt, writeFigures } from './lib/figures';
import { checkUntouched, chownTree, EmuEventLog, plantForeignGroups, sleep, spawnController, tmp, waitUntil, type OwnershipReport, type PlantedGroup } from './lib/procs';

jest.setTimeout(150_000);

const RG = 'bad-input';
const KEEP = '  concurrencyPolicy: Allow\n  cleanup: {onSuccess: Keep, onFailure: Keep}\n  successfulRunsHistoryLimit: 1000\n  failedRunsHistoryLimit: 1000\n';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const user = isRoot ? { uid: 65534, gid: 65534 } : undefined;

let emu: RunningEmulator & { caFilePath: string };
const emuLog = new EmuEventLog();
let ctl: ControllerProcess;
let plain: string; // watched root A
let syncParent: string; // holds the git-sync style link B
let planted: PlantedGroup[];
let corpus: BadFile[] = [];
let t1 = 0;
let tEnd = 0;
const errorsByFile = new Map<string, number>();
let ownership: OwnershipReport;
let storm = { renames: 0 };
const phaseNotes: string[] = [];
let subdir: BadFile;
let lateJobSeen = false;
let subdirReported = false;
let rootFailed = false;

function errorLines() {
  return ctl.lines().filter((l) => l.level >= 40 && (typeof l.file === 'string' || /error/.test(l.msg)));
}

/** Error lines that name this bad file (by its path under the root), with a line number. */
function reported(f: BadFile): { line: number; msg: string }[] {
  const names = [f.rel, ...(f.aliases ?? [])];
  return errorLines()
    .filter((l) => names.some((n) => String(l.file ?? '').endsWith(`/${n}`) || String(l.file ?? '') === n || String(l.file ?? '').includes(`/${n}/`)))
    .map((l) => ({ line: Number(l.line), msg: l.msg }));
}

/** Jobs the corpus may legitimately add: the valid documents of a multi-document file with one bad document, and the first definition of a new duplicated name. */
const CORPUS_VALID = new Set(['multi-a', 'multi-c', 'dup-job']);
function expectedName(n: string): boolean {
  return !CORPUS_VALID.has(n);
}

async function jobNames(): Promise<string[]> {
  const r = await ctl.api('GET', '/apis/acictl.dev/v1/containerjobs');
  return (r.body?.items ?? []).map((j: any) => j.metadata.name).sort();
}

async function steadySlots(from: number, to: number): Promise<number> {
  return (await ctl.runs('steady')).filter((r) => {
    const s = Date.parse(r.spec?.slot ?? r.spec?.scheduledTime ?? '');
    return s >= from && s <= to;
  }).length;
}

beforeAll(async () => {
  emu = await startTestEmulator({ logger: emuLog.logger });
  planted = await plantForeignGroups(emu, RG, 'steady');
  const shared = tmp('acictl-rel-bad-');
  chmodSync(shared, 0o755);
  const caFilePath = path.join(shared, 'ca.pem');
  writeFileSync(caFilePath, emu.ca);
  plain = path.join(shared, 'plain');
  mkdirSync(plain);
  writeFileSync(path.join(plain, 'steady.yaml'), jobYaml('steady', { rg: RG, schedule: '*/2 * * * * *', extra: KEEP }));
  writeFileSync(path.join(plain, 'victim.yaml'), jobYaml('victim', { rg: RG, schedule: '*/2 * * * * *', extra: KEEP }));
  writeFileSync(path.join(plain, 'hijackme.yaml'), jobYaml('hijackme', { rg: RG, schedule: '@daily', extra: KEEP }));
  writeFileSync(path.join(plain, 'mover.yaml'), jobYaml('mover', { rg: RG, schedule: '@hourly', extra: KEEP }));
  syncParent = path.join(shared, 'sync');
  mkdirSync(path.join(syncParent, 'revs', 'rev1'), { recursive: true });
  writeFileSync(path.join(syncParent, 'revs', 'rev1', 'synced.yaml'), jobYaml('synced', { rg: RG, schedule: '@hourly', extra: KEEP }));
  symlinkSync('revs/rev1', path.join(syncParent, 'current'));
  if (user) chownTree(shared, user.uid, user.gid);
  ctl = spawnController({ ...emu, caFilePath }, { manifests: [plain, path.join(syncParent, 'current')], user, stateDir: path.join(shared, 'state') });
  await ctl.ready(30_000);
  await waitUntil('two steady runs', async () => (await ctl.runs('steady')).length >= 2, 20_000, 250);
  expect(await jobNames()).toEqual(['hijackme', 'mover', 'steady', 'synced', 'victim']);

  // Phase 1: the corpus, a broken edit of a valid job, and a rename storm.
  t1 = Date.now();
  corpus = writeBadCorpus(plain, RG, 99);
  writeFileSync(path.join(plain, 'victim.yaml'), jobYaml('victim', { rg: RG, schedule: '*/2 * * * * *', extra: KEEP + '  retries: many\n' }));
  corpus.push({ rel: 'victim.yaml', kind: 'a valid job edited into a schema error', line: 11 }); // retries: many (apiVersion..schedule are lines 1-6, KEEP 7-10)
  const s = await renameStorm(plain, 3000, [['mover.yaml', 'mover-moved.yaml']]);
  storm = s;
  corpus.push(s.file);
  await waitUntil('every bad file to be reported', () => corpus.every((f) => reported(f).length > 0), 15_000, 250).catch(() => undefined);
  for (const f of corpus) errorsByFile.set(f.rel, reported(f).length);

  // Phase 1b: an unreadable sub-directory next to a new valid job: the rest of the root must still be read.
  subdir = writeUnreadableSubdir(plain, RG);
  writeFileSync(path.join(plain, 'late-job.yaml'), jobYaml('late-job', { rg: RG, schedule: '@hourly', extra: KEEP }));
  if (user) chownTree(path.join(plain, 'late-job.yaml'), user.uid, user.gid);
  lateJobSeen = await waitUntil('late-job next to an unreadable sub-directory', async () => (await jobNames()).includes('late-job'), 6_000, 250).then(
    () => true,
    () => false,
  );
  subdirReported = reported(subdir).length > 0;
  rootFailed = ctl.lines().some((l) => /root unreadable/.test(l.msg) && String(l.error ?? '').includes('gen-noexec-dir'));
  chmodSync(path.join(plain, 'gen-noexec-dir'), 0o755);
  rmSync(path.join(plain, 'gen-noexec-dir'), { recursive: true, force: true });
  await waitUntil('late-job after the sub-directory is gone', async () => (await jobNames()).includes('late-job'), 8_000, 250).catch(() => undefined);

  // Phase 2: a git-sync link flipped to a half-written revision.
  mkdirSync(path.join(syncParent, 'revs', 'rev2'));
  writeFileSync(path.join(syncParent, 'revs', 'rev2', 'synced.yaml'), jobYaml('synced', { rg: RG, schedule: '@hourly', extra: KEEP }).slice(0, 150));
  if (user) chownTree(path.join(syncParent, 'revs', 'rev2'), user.uid, user.gid);
  symlinkSync('revs/rev2', path.join(syncParent, 'next'));
  renameSync(path.join(syncParent, 'next'), path.join(syncParent, 'current'));
  await waitUntil('the half-written revision to be reported', () => errorLines().some((l) => String(l.file ?? '').endsWith('synced.yaml') && Number(l.time) > t1), 15_000, 250).catch(() => undefined);
  phaseNotes.push(`after flip: ${(await jobNames()).filter(expectedName).join(',')}`);

  // Phase 3: the plain directory emptied.
  for (const n of readdirSync(plain)) rmSync(path.join(plain, n), { recursive: true, force: true });
  await sleep(3000);
  phaseNotes.push(`after emptying: ${(await jobNames()).filter(expectedName).join(',')}`);

  // Phase 4: replaced by an unreadable directory.
  renameSync(plain, `${plain}.old`);
  mkdirSync(plain, { mode: 0o000 });
  if (user) chownTree(plain, 0, 0);
  chmodSync(plain, 0o000);
  await sleep(3000);
  phaseNotes.push(`after unreadable: ${(await jobNames()).filter(expectedName).join(',')}`);
  tEnd = Date.now();
  ownership = await checkUntouched(emu, planted, emuLog.events, emu.stats());
});

afterAll(async () => {
  if (process.env.ACICTL_RELIABILITY_DUMP) writeFileSync(path.join(process.env.ACICTL_RELIABILITY_DUMP, 'bad-input-controller.log'), ctl?.stdout + ctl?.stderr);
  await ctl?.stop();
  await emu?.close();
  try {
    chmodSync(plain, 0o755);
    unlinkSync(path.join(syncParent, 'current'));
  } catch {
    /* already gone */
  }
});

describe('Invariant 3: invalid is not deleted (bad input)', () => {
  test('the corpus has at least 50 malformed files of every kind', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(50);
    for (const k of ['yaml bomb', 'huge file (over the size limit)', 'binary (random bytes)', 'permission denied (chmod 000)', 'symlink loop', 'renamed mid-read', 'duplicate job name (1/2)']) {
      expect(corpus.map((c) => c.kind)).toContain(k);
    }
  });

  test('each bad file yields an error naming the file and a line', () => {
    const silent = corpus.filter((f) => reported(f).length === 0).map((f) => `${f.rel} (${f.kind})`);
    expect(silent).toEqual([]);
    const wrongLine = corpus
      .filter((f) => f.line !== undefined && f.line > 0 && reported(f).length > 0 && !reported(f).some((r) => r.line === f.line))
      .map((f) => `${f.rel}: expected line ${f.line}, got ${reported(f).map((r) => r.line).join(',')}`);
    expect(wrongLine).toEqual([]);
    for (const f of corpus) for (const r of reported(f)) expect(Number.isInteger(r.line)).toBe(true);
  });

  test('a job that had a good spec keeps it and is marked Invalid', async () => {
    const victim = await ctl.job('victim');
    expect(victim).not.toBeNull();
    expect(victim.spec.retries).not.toBe('many');
    const invalid = victim.status.conditions.find((c: any) => c.type === 'Invalid');
    expect(invalid?.status).toBe('True');
    expect(invalid.message).toMatch(/victim\.yaml/);
  });

  test('emptying the directory, an unreadable directory and a half-written git-sync revision prune nothing', async () => {
    expect(phaseNotes).toEqual([
      'after flip: hijackme,late-job,mover,steady,synced,victim',
      'after emptying: hijackme,late-job,mover,steady,synced,victim',
      'after unreadable: hijackme,late-job,mover,steady,synced,victim',
    ]);
    expect(ctl.lines().filter((l) => /\bprune(d|s)?\b/i.test(l.msg) && !/nothing|skip|not prune|refus|keeping|history limit/i.test(l.msg))).toEqual([]);
    expect(emuLog.events.filter((e) => /deleting/.test(e.msg))).toEqual([]);
  });

  test('valid jobs in unreadable places, duplicates and bombs never became jobs', async () => {
    const names = await jobNames();
    for (const n of ['bomb-job', 'renamed-job', 'truncated-job', 'literal-secret-job', ...(user ? ['unreadable-job', 'noexec-job'] : [])]) expect(names).not.toContain(n);
  });
});

describe('Invariant 9: one bad thing stays local (bad input)', () => {
  test('the valid job keeps running on schedule through every phase', async () => {
    const due = Math.floor((tEnd - t1) / 2000);
    const ran = await steadySlots(t1, tEnd);
    expect(ran).toBeGreaterThanOrEqual(due - 2);
    expect(ctl.child.exitCode).toBeNull();
  });
});

describe('Invariant 9: a duplicate job name stays local', () => {
  // Known bug (reported to the lead): source-sync.ts lets the alphabetically first file win, so a
  // copied file that sorts before steady.yaml takes the job over; its conflict is never logged.
  test('a copy of a valid job in another file does not take the job over (whichever file sorts first)', async () => {
    expect((await ctl.job('steady')).spec.schedule).toBe('*/2 * * * * *');
    expect((await ctl.job('hijackme')).spec.schedule).toBe('@daily');
  });
});

describe('Invariant 9: an unreadable sub-directory stays local', () => {
  // Known bug (reported to the lead): src/controller/watcher.ts listFiles() rethrows EACCES of a
  // sub-directory, so the whole root is "unreadable" and no other file of it is read any more.
  test('a new valid job next to an unreadable sub-directory is still picked up, and the sub-directory is reported', () => {
    expect({ rootFailed, lateJobSeen, subdirReported }).toEqual({ rootFailed: false, lateJobSeen: true, subdirReported: true });
  });
});

describe('Invariant 2: ownership (bad input)', () => {
  test('foreign groups untouched', () => {
    expect(ownership.problems).toEqual([]);
  });
});

afterAll(async () => {
  const silent = corpus.filter((f) => reported(f).length === 0).length;
  const deletions = emuLog.events.filter((e) => /deleting/.test(e.msg)).length;
  writeFigures('bad-input', {
    part: 'bad inputs',
    summary: `${corpus.length} files, ${corpus.length - silent} errors reported (with file and line), ${deletions} deletions, ${storm.renames} renames mid-read, controller ${user ? 'as nobody (chmod 000 enforced)' : 'as its own user'}`,
    figures: { corpus: corpus.map((f) => ({ ...f, reports: errorsByFile.get(f.rel) ?? 0 })), phaseNotes, deletions, renames: storm.renames, runAsNobody: Boolean(user) },
    ok: silent === 0 && deletions === 0,
  });
});
