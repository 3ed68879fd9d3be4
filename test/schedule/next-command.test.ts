/** `acictl next -f FILE [--count N] [--from TIME]` through the CLI entry point with a captured context. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main';
import type { CliContext } from '../../src/cli/context';
import { compileSchedule, formatSlot } from '../../src/schedule';
import { DST_CASES } from './dst-cases';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acictl-next-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function acictl(...args: string[]): Promise<Run> {
  return acictlWithStdin(process.stdin, ...args);
}

async function acictlWithStdin(stdin: NodeJS.ReadableStream, ...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    env: {},
    cwd: dir,
    stdin,
    isTTY: false,
    exitCode: 0,
    shutdown: new Promise<string>(() => undefined),
  };
  const code = await main(['node', 'acictl', ...args], ctx);
  return { code, stdout, stderr };
}

/** A complete, valid ContainerJob document (so the full manifest validator accepts it too). */
function job(name: string, spec: Record<string, string | null>): string {
  const lines = Object.entries(spec).map(([k, v]) => `  ${k}: ${v === null ? 'null' : JSON.stringify(v)}`);
  return [
    'apiVersion: acictl.dev/v1',
    'kind: ContainerJob',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    ...lines,
    '  template:',
    '    resourceGroup: rg',
    '    location: eastus',
    '    containers:',
    '      - name: main',
    '        image: busybox:1.36',
    '        command: ["/bin/sh", "-c", "echo hi"]',
    '        resources: {requests: {cpu: 1, memoryInGB: 1.5}}',
  ].join('\n');
}

function write(name: string, ...docs: string[]): string {
  fs.writeFileSync(path.join(dir, name), docs.join('\n---\n') + '\n');
  return name;
}

describe('acictl next shows the DST slots of the library (DESIGN §2)', () => {
  test.each(DST_CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const file = write(`dst-${i}.yaml`, job(`dst-case-${i}`, { schedule: c.expression, timeZone: c.timeZone }));
    const r = await acictl('next', '-f', file, '--from', c.from, '--count', String(c.expected.length));
    expect(r.stderr).not.toContain('error:'); // the validator may warn (e.g. about a seconds schedule)
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toEqual(c.expected.map((utc) => `dst-case-${i} ${formatSlot(Date.parse(utc), c.timeZone)}`));
    // The printed ISO times are the exact expected instants.
    expect(lines.map((l) => new Date(Date.parse(l.split(' ')[1])).toISOString().replace('.000Z', 'Z'))).toEqual(c.expected);
  });
});

describe('acictl next', () => {
  test('several jobs in one multi-document file: file order, default count 5, manual and none', async () => {
    const file = write(
      'many.yaml',
      job('nightly', { schedule: '30 2 * * *', timeZone: 'Europe/Berlin' }),
      job('by-hand', {}),
      job('ended', { schedule: '@daily', endTime: '2026-01-01T00:00:00Z' }),
      job('later', { schedule: '@monthly', startTime: '2026-06-15T00:00:00Z' }),
    );
    const r = await acictl('next', '-f', file, '--from', '2026-03-27T00:00:00Z');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'nightly 2026-03-27T02:30:00+01:00',
        'nightly 2026-03-28T02:30:00+01:00',
        'nightly 2026-03-29T03:00:00+02:00',
        'nightly 2026-03-30T02:30:00+02:00',
        'nightly 2026-03-31T02:30:00+02:00',
        'by-hand manual',
        'ended none',
        'later 2026-07-01T00:00:00+00:00',
        'later 2026-08-01T00:00:00+00:00',
        'later 2026-09-01T00:00:00+00:00',
        'later 2026-10-01T00:00:00+00:00',
        'later 2026-11-01T00:00:00+00:00',
        '',
      ].join('\n'),
    );
  });

  test('the seed guide job: @daily from 2020-12-01 (startTime inclusive)', async () => {
    const file = write('seed.yaml', job('azure-tutorial-container', { schedule: '@daily', timeZone: 'UTC', startTime: '2020-12-01T00:00:00Z' }));
    const r = await acictl('next', '-f', file, '--from', '2020-01-01T00:00:00Z', '--count', '2');
    expect(r.stdout).toBe('azure-tutorial-container 2020-12-01T00:00:00+00:00\nazure-tutorial-container 2020-12-02T00:00:00+00:00\n');
  });

  test('a seconds-field schedule', async () => {
    const file = write('fast.yaml', job('fast', { schedule: '*/20 * * * * *' }));
    const r = await acictl('next', '-f', file, '--from', '2026-01-01T00:00:00Z', '--count', '3');
    expect(r.stdout).toBe('fast 2026-01-01T00:00:20+00:00\nfast 2026-01-01T00:00:40+00:00\nfast 2026-01-01T00:01:00+00:00\n');
  });

  test('--from without an offset, and a bare date, are UTC', async () => {
    const file = write('utc.yaml', job('hourly', { schedule: '@hourly' }));
    const a = await acictl('next', '-f', file, '--from', '2026-05-01T10:30', '--count', '1');
    const b = await acictl('next', '-f', file, '--from', '2026-05-01', '--count', '1');
    expect(a.stdout).toBe('hourly 2026-05-01T11:00:00+00:00\n');
    expect(b.stdout).toBe('hourly 2026-05-01T01:00:00+00:00\n');
  });

  test('without --from it starts from now', async () => {
    const file = write('now.yaml', job('hourly', { schedule: '@hourly' }));
    const before = Date.now();
    const r = await acictl('next', '-f', file, '--count', '1');
    const slot = Date.parse(r.stdout.trim().split(' ')[1]);
    expect(r.code).toBe(0);
    expect(slot).toBe(compileSchedule('@hourly', { timeZone: 'UTC' }).next(before) ?? NaN);
  });

  test('an invalid schedule: diagnostic on stderr naming the file, exit 1; valid jobs still print', async () => {
    const file = write('bad.yaml', job('good', { schedule: '@daily' }), job('bad', { schedule: '0 0 30 2 *' }));
    const r = await acictl('next', '-f', file, '--from', '2026-01-01T00:00:00Z', '--count', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^bad\.yaml:\d+:\d+: error: .*never fires/m);
    expect(r.stdout).toBe('good 2026-01-02T00:00:00+00:00\n');
  });

  test('a YAML syntax error: diagnostic with line and column, exit 1', async () => {
    fs.writeFileSync(path.join(dir, 'broken.yaml'), 'kind: ContainerJob\nmetadata: {name: x\nspec: [\n');
    const r = await acictl('next', '-f', 'broken.yaml', '--from', '2026-01-01T00:00:00Z');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^broken\.yaml:\d+:\d+: error: /m);
    expect(r.stdout).toBe('');
  });

  test('a bad time zone is a diagnostic, exit 1', async () => {
    const file = write('tz.yaml', job('zoned', { schedule: '@daily', timeZone: 'Mars/Olympus' }));
    const r = await acictl('next', '-f', file, '--from', '2026-01-01T00:00:00Z');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tz\.yaml:\d+:\d+: error: .*Mars\/Olympus/m);
  });

  test('a schedule outside the classic cron language (L, W, #, ?) is an error with its position, exit 1', async () => {
    const file = write('ext.yaml', job('last-day', { schedule: '0 0 L * *' }));
    const r = await acictl('next', '-f', file, '--from', '2026-01-01T00:00:00Z');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ext\.yaml:\d+:\d+: error: /m);
    expect(r.stdout).toBe('');
  });

  test('-f - reads the manifest from stdin', async () => {
    const text = job('piped', { schedule: '@daily' }) + '\n';
    const r = await acictlWithStdin(Readable.from([Buffer.from(text)]), 'next', '-f', '-', '--from', '2026-01-01T00:00:00Z', '--count', '1');
    expect(r.stderr).not.toContain('error:');
    expect(r.stdout).toBe('piped 2026-01-02T00:00:00+00:00\n');
    expect(r.code).toBe(0);
  });

  test('a missing file: exit 1', async () => {
    const r = await acictl('next', '-f', 'does-not-exist.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('does-not-exist.yaml');
  });

  test.each([
    [['--count', '0'], '--count must be an integer from 1 to 10000'],
    [['--count', 'five'], '--count must be an integer'],
    [['--from', 'yesterday'], '--from must be an ISO 8601 time'],
    [['--from', '2026-13-45T99:00:00Z'], '--from must be an ISO 8601 time'],
  ])('usage error %j: exit 2', async (extra, message) => {
    const file = write('usage.yaml', job('u', { schedule: '@daily' }));
    const r = await acictl('next', '-f', file, ...extra);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  test('-f is required: exit 2', async () => {
    const r = await acictl('next');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--file');
  });
});
