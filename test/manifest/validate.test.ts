/**
 * validateText / validatePaths / validateObject: the example manifests, multi-document files,
 * cross-file duplicates, hostile input (huge, binary, alias bomb, too many documents), the cache.
 */
import { mkdirSync, mkdtempSync, openSync, closeSync, ftruncateSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { formatDiagnostic, stdinReader, validateBytes, validateObject, validatePaths, validateText, ValidationCache } from '../../src/manifest/validate';
import type { Diagnostic } from '../../src/manifest/diagnostic';

const ROOT = join(__dirname, '../..');
const FIX = join(__dirname, '../fixtures/manifests');

const HEAD = readFileSync(join(FIX, 'duplicate/c.yaml'), 'utf8').replace('unique-c', 'fixture-job');
const job = (name: string, extra = '') => HEAD.replace('fixture-job', name) + extra;
const errors = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 'error');
const warnings = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 'warning');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'acictl-validate-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('manifests/', () => {
  it('are all valid, with the seed DAG resolved as the guide describes', async () => {
    const report = await validatePaths([join(ROOT, 'manifests')], { cache: false });
    expect(errors(report.diagnostics).map(formatDiagnostic)).toEqual([]);
    expect(report.files).toBe(5);
    expect(report.invalidFiles).toEqual([]);
    const names = report.jobs.map((j) => j.job.metadata.name).sort();
    expect(names).toEqual(['azure-tutorial-container', 'extract-orders', 'heartbeat', 'nightly-etl', 'orders-report', 'weekly-gpu-training']);
    expect(report.jobs.find((j) => j.job.metadata.name === 'orders-report')!.resolved).toMatchObject({ dependsOn: ['extract-orders'], dependsOnPast: true });
    const seed = report.jobs.find((j) => j.job.metadata.name === 'azure-tutorial-container')!;
    expect(seed.resolved).toMatchObject({
      schedule: '@daily',
      catchup: false,
      concurrencyPolicy: 'Forbid',
      retries: 1,
      retryDelayMs: 60_000,
      startTime: Date.UTC(2020, 11, 1),
      template: { location: 'eastus', resourceGroup: 'adf-tutorial', containers: [{ image: 'hello-world:latest', resources: { requests: { cpu: 1, memoryInGB: 1.5 } } }] },
    });
    expect(seed.line).toBe(6);
    expect(seed.column).toBe(1);
    const etl = report.jobs.find((j) => j.job.metadata.name === 'nightly-etl')!;
    expect(etl.resolved.suspend).toBe(true);
    expect(etl.resolved.template.location).toBe('westeurope');
    const heartbeat = report.jobs.find((j) => j.job.metadata.name === 'heartbeat')!;
    expect(heartbeat.resolved.schedule?.split(' ')).toHaveLength(6);
    for (const file of ['azure-tutorial-container', 'extract-and-report', 'heartbeat', 'nightly-etl', 'weekly-gpu-training']) {
      expect(readFileSync(join(ROOT, 'manifests', `${file}.yaml`), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/containerjob.v1.schema.json');
    }
  });
});

describe('multi-document files', () => {
  it('a bad document does not invalidate the others', () => {
    const text = readFileSync(join(FIX, 'invalid/multi-doc-one-bad.yaml'), 'utf8');
    const r = validateText(text, 'multi.yaml', { cache: false });
    expect(r.documents).toBe(3);
    expect(r.jobs.map((j) => [j.job.metadata.name, j.line, j.document])).toEqual([
      ['multi-a', 2, 0],
      ['multi-c', 36, 2],
    ]);
    expect(errors(r.diagnostics)).toHaveLength(1);
    expect(errors(r.diagnostics)[0]).toMatchObject({ line: 29, column: 15, document: 1, pointer: '/spec/template/containers/0/name' });
  });

  it('empty documents between others are skipped', () => {
    const r = validateText(`${job('a')}---\n---\n# nothing\n---\n${job('b')}`, 'x.yaml', { cache: false });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.jobs.map((j) => j.job.metadata.name)).toEqual(['a', 'b']);
  });

  it('duplicate names inside one file are errors at both', () => {
    const r = validateText(`${job('same')}---\n${job('same')}`, 'x.yaml', { cache: false });
    expect(r.jobs).toEqual([]);
    expect(errors(r.diagnostics).map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      '4:9 duplicate job name "same" (also defined at x.yaml:21:9)',
      '21:9 duplicate job name "same" (also defined at x.yaml:4:9)',
    ]);
  });
});

describe('validatePaths', () => {
  it('reports a job name defined in two files at both places and keeps the others', async () => {
    const report = await validatePaths([join(FIX, 'duplicate')], { cache: false });
    const a = join(FIX, 'duplicate/a.yaml');
    const b = join(FIX, 'duplicate/b.yaml');
    expect(errors(report.diagnostics).map((d) => [d.file, d.line, d.column, d.message])).toEqual([
      [a, 4, 9, `duplicate job name "same-name" (also defined at ${b}:21:9)`],
      [b, 21, 9, `duplicate job name "same-name" (also defined at ${a}:4:9)`],
    ]);
    expect(report.jobs.map((j) => j.job.metadata.name)).toEqual(['unique-b', 'unique-c']);
    expect(report.invalidFiles).toEqual([a, b]);
    expect(report.files).toBe(3);
  });

  it('reports all errors of all files at once and recurses into directories', async () => {
    const dir = join(tmp, 'tree');
    mkdirSync(join(dir, 'sub/deeper'), { recursive: true });
    mkdirSync(join(dir, '.hidden'), { recursive: true });
    writeFileSync(join(dir, 'ok.yaml'), job('ok'));
    writeFileSync(join(dir, 'sub/bad1.yml'), job('bad1').replace('"0 2 * * *"', '"nope"'));
    writeFileSync(join(dir, 'sub/deeper/bad2.json'), JSON.stringify({ apiVersion: 'acictl.dev/v1', kind: 'ContainerJob', metadata: { name: 'bad2' }, spec: {} }, null, 2));
    writeFileSync(join(dir, 'sub/readme.md'), '# not a manifest');
    writeFileSync(join(dir, '.hidden/ignored.yaml'), 'garbage: [');
    const report = await validatePaths([dir, join(tmp, 'does-not-exist.yaml')], { cache: false });
    expect(report.files).toBe(3);
    expect(report.jobs.map((j) => j.job.metadata.name)).toEqual(['ok']);
    expect(errors(report.diagnostics).map((d) => `${d.file.slice(tmp.length + 1)}:${d.line}:${d.column}: ${d.message}`)).toEqual([
      'does-not-exist.yaml:0:0: no such file or directory',
      'tree/sub/bad1.yml:6:13: invalid cron expression "nope": 1 field; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)',
      'tree/sub/deeper/bad2.json:7:11: missing required field "template"',
    ]);
    expect(report.invalidFiles.map((f) => f.slice(tmp.length + 1))).toEqual(['does-not-exist.yaml', 'tree/sub/bad1.yml', 'tree/sub/deeper/bad2.json']);
  });

  it('refuses a 20 MB file quickly without parsing it', async () => {
    const big = join(tmp, 'big.yaml');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 20 * 1024 * 1024); // sparse: 20 MB of NUL bytes, created instantly
    closeSync(fd);
    const started = performance.now();
    const report = await validatePaths([big], { cache: false });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(report.diagnostics).toEqual([
      { file: big, line: 1, column: 1, pointer: '', severity: 'error', message: 'file is too large (20.0 MiB; the limit is 4.0 MiB)' },
    ]);
    // The same limit applies to text handed over directly.
    const r = validateText('a: b\n'.repeat(1_000_000), 'big-text.yaml', { cache: false });
    expect(r.diagnostics.map((d) => d.message)).toEqual(['file is too large (4.8 MiB; the limit is 4.0 MiB)']);
  });

  it('reads - from stdin through the injected reader, capped', async () => {
    const report = await validatePaths(['-'], { stdin: stdinReader(Readable.from([Buffer.from(job('from-stdin'))])), cache: false });
    expect(report.jobs.map((j) => [j.file, j.job.metadata.name])).toEqual([['<stdin>', 'from-stdin']]);
    const huge = Readable.from((function* () {
      for (let i = 0; i < 100; i++) yield Buffer.alloc(1024 * 1024, 0x61);
    })());
    const capped = await validatePaths(['-'], { stdin: stdinReader(huge), cache: false });
    expect(capped.diagnostics[0].message).toMatch(/^file is too large/);
  });

  it('an empty file is an error; a directory without manifests is a warning', async () => {
    const dir = join(tmp, 'empty');
    mkdirSync(join(dir, 'none'), { recursive: true });
    writeFileSync(join(dir, 'zero.yaml'), '');
    const report = await validatePaths([join(dir, 'zero.yaml'), join(dir, 'none')], { cache: false });
    expect(report.diagnostics.map((d) => [d.severity, d.line, d.column, d.message])).toEqual([
      ['warning', 0, 0, 'no manifest files (*.yaml, *.yml, *.json) in this directory'],
      ['error', 1, 1, 'empty file: no ContainerJob documents (delete the file to remove its jobs)'],
    ]);
  });
});

describe('hostile input', () => {
  it('binary junk: NUL bytes are reported where they are', () => {
    const bytes = Buffer.concat([Buffer.from('apiVersion: acictl.dev/v1\nkind: Con'), Buffer.from([0, 1, 2, 0xff]), Buffer.from('\n')]);
    const r = validateBytes(bytes, 'junk.yaml', { cache: false });
    expect(r.diagnostics).toEqual([expect.objectContaining({ line: 2, column: 10, message: 'binary content (NUL byte): not a YAML or JSON manifest' })]);
  });

  it('invalid UTF-8 is reported at the first bad byte', () => {
    const bytes = Buffer.concat([Buffer.from('a: 1\nb: "é'), Buffer.from([0xc3, 0x28]), Buffer.from('"\n')]);
    const r = validateBytes(bytes, 'latin.yaml', { cache: false });
    expect(r.diagnostics).toEqual([expect.objectContaining({ line: 2, column: 6, message: 'invalid UTF-8: manifests must be UTF-8 text' })]);
  });

  it('random bytes never throw', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
      const r = validateBytes(bytes, 'random.yaml', { cache: false });
      expect(r.jobs).toEqual([]);
      expect(errors(r.diagnostics).length).toBeGreaterThan(0);
    }
  });

  it('a "billion laughs" alias bomb is refused fast', () => {
    let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    const letters = 'bcdefghijklmnop';
    for (let i = 0; i < letters.length; i++) text += `${letters[i]}: &${letters[i]} [${Array(10).fill(`*${i === 0 ? 'a' : letters[i - 1]}`).join(',')}]\n`;
    const started = performance.now();
    const r = validateText(text, 'bomb.yaml', { cache: false });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(r.diagnostics).toEqual([expect.objectContaining({ line: 2, column: 8, severity: 'error', message: expect.stringContaining('too many alias expansions') })]);
  });

  it('too many documents in one file are refused before parsing', () => {
    const r = validateText('---\na: 1\n'.repeat(1001), 'many.yaml', { cache: false });
    expect(r.diagnostics.map((d) => d.message)).toEqual(['too many documents (more than 1000 in one file)']);
  });

  it('a byte-order mark is accepted', () => {
    const r = validateText('\ufeff' + job('bom'), 'bom.yaml', { cache: false });
    expect(errors(r.diagnostics)).toEqual([]);
    expect(r.jobs[0].line).toBe(1);
  });
});

describe('warnings for suspicious but legal manifests', () => {
  const cases: Array<[string, string, string, string]> = [
    ['no schedule', job('w').replace('  schedule: "0 2 * * *"\n', ''), '5:1', 'no schedule: the job runs only when triggered manually'],
    ['very frequent', job('w').replace('"0 2 * * *"', '"*/5 * * * * *"'), '6:13', 'schedule fires every 5s'],
    ['Reuse with Allow', job('w').replace('  template:\n', '  groupPolicy: Reuse\n  concurrencyPolicy: Allow\n  template:\n'), '8:22', 'concurrencyPolicy Allow has no effect with groupPolicy Reuse'],
    ['huge catch-up', job('w').replace('  template:\n', '  catchup: true\n  maxCatchupRuns: 500\n  template:\n'), '8:19', 'catchup may start up to 500 runs'],
    ['unused volume', job('w').replace('    containers:\n', '    volumes:\n      - {name: spare, emptyDir: {}}\n    containers:\n'), '11:16', 'volume "spare" is not mounted'],
  ];
  it.each(cases)('%s', (_, text, at, message) => {
    const r = validateText(text, 'w.yaml', { cache: false });
    expect(errors(r.diagnostics)).toEqual([]);
    expect(r.jobs).toHaveLength(1);
    expect(warnings(r.diagnostics).map((d) => `${d.line}:${d.column}`)).toEqual([at]);
    expect(warnings(r.diagnostics)[0].message).toContain(message);
  });
});

describe('content cache', () => {
  it('re-validating unchanged text is a cache hit and returns independent copies', () => {
    const cache = new ValidationCache();
    const text = job('cached');
    const first = validateText(text, 'a.yaml', { cache });
    first.jobs[0].job.metadata.name = 'mutated';
    first.jobs[0].resolved.template.containers[0].image = 'mutated';
    const second = validateText(text, 'b.yaml', { cache });
    expect(cache.hits).toBe(1);
    expect(cache.misses).toBe(1);
    expect(second.jobs[0].job.metadata.name).toBe('cached');
    expect(second.jobs[0].resolved.template.containers[0].image).toBe('busybox:1.36');
    expect(second.jobs[0].file).toBe('b.yaml');
    const changed = validateText(text + '\n', 'a.yaml', { cache });
    expect(cache.misses).toBe(2);
    expect(changed.jobs).toHaveLength(1);
  });

  it('diagnostics of a cached file carry the name it is read under', () => {
    const cache = new ValidationCache();
    const text = job('bad').replace('"0 2 * * *"', '"x"');
    validateText(text, 'one.yaml', { cache });
    const again = validateText(text, 'two.yaml', { cache });
    expect(cache.hits).toBe(1);
    expect(again.diagnostics.map((d) => d.file)).toEqual(['two.yaml']);
  });
});

describe('validateObject (HTTP API bodies)', () => {
  const body = () => JSON.parse(JSON.stringify(validateText(job('api'), 'x.yaml', { cache: false }).jobs[0].job));

  it('accepts a valid job and resolves it', () => {
    const r = validateObject(body());
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.resolved.name).toBe('api');
      expect(r.resolved.template.osType).toBe('Linux');
    }
  });

  it('strict (default): unknown fields are errors, all reported with pointers', () => {
    const b = body();
    b.spec.scheduleX = 'x';
    b.spec.template.containers[0].resources.requests.cpu = 9;
    const r = validateObject(b);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toEqual([
        { pointer: '/spec/scheduleX', message: 'unknown field "scheduleX" (did you mean "schedule"?)' },
        { pointer: '/spec/template/containers/0/resources/requests/cpu', message: 'CPU requests total 9 cores; a Linux container group may request at most 4' },
      ]);
    }
  });

  it('non-strict: unknown fields become warnings and are dropped; literal secrets stay errors', () => {
    const b = body();
    b.metadata.managedFields = [];
    const r = validateObject(b, { strict: false });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect('managedFields' in r.job.metadata).toBe(false);
      expect(r.warnings).toEqual([{ pointer: '/metadata/managedFields', message: 'unknown field "managedFields" (allowed: name, labels, annotations, uid, resourceVersion, generation, creationTimestamp, deletionTimestamp, finalizers); ignored' }]);
    }
    expect(b.metadata.managedFields).toEqual([]); // input untouched
    const s = body();
    s.spec.template.containers[0].environmentVariables = [{ name: 'P', secureValue: 'hunter2' }];
    const rs = validateObject(s, { strict: false });
    expect(rs.ok).toBe(false);
    if (!rs.ok) expect(rs.errors[0].message).toMatch(/^literal secrets are not allowed/);
    expect(JSON.stringify(rs)).not.toContain('hunter2');
  });

  it('rejects non-objects', () => {
    expect(validateObject([1])).toEqual({ ok: false, errors: [{ pointer: '', message: 'a manifest document must be a mapping (a ContainerJob), found a list' }], warnings: [] });
  });
});

describe('formatDiagnostic', () => {
  it('prints FILE:LINE:COL: error: MESSAGE (at /pointer)', () => {
    expect(formatDiagnostic({ file: 'a.yaml', line: 3, column: 7, pointer: '/spec/x', message: 'unknown field "x"', severity: 'error' })).toBe(
      'a.yaml:3:7: error: unknown field "x" (at /spec/x)',
    );
    expect(formatDiagnostic({ file: 'gone.yaml', line: 0, column: 0, pointer: '', message: 'no such file or directory', severity: 'error' })).toBe(
      'gone.yaml: error: no such file or directory',
    );
  });
});
