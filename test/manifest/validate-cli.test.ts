/** `acictl validate` run through main() with a captured context: output, formats, exit codes. */
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main';
import type { CliContext } from '../../src/cli/context';

const ROOT = join(__dirname, '../..');
const FIX = join(__dirname, '../fixtures/manifests');

function context(cwd: string, stdin: string = ''): CliContext & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
    env: {},
    cwd,
    stdin: Readable.from([Buffer.from(stdin)]),
    isTTY: false,
    exitCode: 0,
    shutdown: new Promise(() => undefined),
  };
}

async function run(args: string[], cwd = ROOT, stdin = '') {
  const ctx = context(cwd, stdin);
  const code = await main(['node', 'acictl', 'validate', ...args], ctx);
  return { code, out: ctx.out.join(''), err: ctx.err.join('') };
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'acictl-validate-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('acictl validate', () => {
  it('exits 0 on manifests/ and summarises on stderr', async () => {
    const r = await run(['manifests/']);
    expect(r.out.split('\n').filter((l) => l.includes(': error:'))).toEqual([]);
    expect(r.err).toMatch(/^5 files, 6 valid jobs: 0 errors, \d+ warnings?\n$/);
    expect(r.code).toBe(0);
  });

  it('defaults to ./manifests', async () => {
    const r = await run([]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^5 files, 6 valid jobs/);
  });

  it('exits 1 and prints FILE:LINE:COL: error: MESSAGE (at /pointer), paths as typed', async () => {
    const r = await run(['test/fixtures/manifests/invalid/typo-container.yaml', 'test/fixtures/manifests/invalid/bad-time-zone.yaml']);
    expect(r.code).toBe(1);
    expect(r.out.split('\n').filter(Boolean)).toEqual([
      'test/fixtures/manifests/invalid/bad-time-zone.yaml:8:13: error: unknown time zone "Europe/Atlantis": use an IANA name such as UTC or Europe/Berlin (at /spec/timeZone)',
      'test/fixtures/manifests/invalid/typo-container.yaml:12:9: error: missing required field "image" (at /spec/template/containers/0)',
      'test/fixtures/manifests/invalid/typo-container.yaml:13:9: error: unknown field "imagee" (did you mean "image"?) (at /spec/template/containers/0/imagee)',
    ]);
    expect(r.err).toBe('2 files, 0 valid jobs: 3 errors, 0 warnings\n');
  });

  it('-o json reports jobs, files and diagnostics', async () => {
    const r = await run(['-o', 'json', join(FIX, 'duplicate')], tmp);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.out);
    expect(out.valid).toBe(false);
    expect(out.files).toBe(3);
    expect(out.errors).toBe(2);
    expect(out.jobs.map((j: { name: string }) => j.name)).toEqual(['unique-b', 'unique-c']);
    expect(out.diagnostics[0]).toMatchObject({ line: 4, column: 9, pointer: '/metadata/name', severity: 'error' });
  });

  it('reads - from stdin', async () => {
    const text = readFileSync(join(ROOT, 'manifests/heartbeat.yaml'), 'utf8');
    const ok = await run(['-'], tmp, text);
    expect(ok.code).toBe(0);
    const bad = await run(['-'], tmp, text.replace('name: beat', 'name: Beat'));
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^<stdin>:\d+:\d+: error: invalid container name "Beat"/);
  });

  it('a missing path is an invalid input (exit 1), not a crash', async () => {
    const r = await run(['nope.yaml'], tmp);
    expect(r.code).toBe(1);
    expect(r.out).toBe('nope.yaml: error: no such file or directory\n');
  });

  it('warnings alone keep exit 0; -q hides them', async () => {
    writeFileSync(join(tmp, 'manual.yaml'), readFileSync(join(FIX, 'duplicate/c.yaml'), 'utf8').replace('  schedule: "0 2 * * *"\n', ''));
    const r = await run(['manual.yaml'], tmp);
    expect(r.code).toBe(0);
    expect(r.out).toBe('manual.yaml:5:1: warning: no schedule: the job runs only when triggered manually (acictl run) (at /spec)\n');
    const q = await run(['-q', 'manual.yaml'], tmp);
    expect(q.code).toBe(0);
    expect(q.out).toBe('');
  });

  it('usage errors exit 2', async () => {
    expect((await run(['-o', 'yaml', 'manifests'])).code).toBe(2);
    expect((await run([], tmp)).code).toBe(2);
    expect((await run(['--bogus'])).code).toBe(2);
  });
});
