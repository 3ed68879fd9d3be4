/**
 * PersistentValidationCache (src/manifest/persistent-cache.ts): a hit, read back from the file by
 * a new connection, is exactly what a fresh validation returns (valid files, errors, warnings,
 * several documents, messages that name the file); the key covers path, format, limits and the
 * validator fingerprint; writes are batched; the table stays bounded; and a file that cannot be
 * used only costs a warning.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PersistentValidationCache, validatorFingerprint, validatorFingerprintInputs, type PersistentCacheOptions } from '../../src/manifest/persistent-cache';
import { validateForWatcher } from '../../src/manifest/validate-pool';
import { jobYaml } from '../fixtures/job-yaml';

const ROOT = path.join(__dirname, '../..');

let dir: string;
let dbFile: string;
const opened: PersistentValidationCache[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'acictl-vcache-'));
  dbFile = path.join(dir, 'validation-cache.db');
});
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(o: Partial<PersistentCacheOptions> = {}): PersistentValidationCache {
  const c = PersistentValidationCache.open({ file: dbFile, ...o });
  opened.push(c);
  return c;
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

function warnings(): { log: { warn(obj: object, msg?: string): void }; seen: string[] } {
  const seen: string[] = [];
  return { seen, log: { warn: (_o, msg) => seen.push(msg ?? '') } };
}

function job(name: string, extra = ''): string {
  return jobYaml(name, { specLines: extra });
}

/** Files of every kind: valid, warnings, several documents, errors, syntax errors, JSON, binary, and the fixture corpora. */
function corpus(): { file: string; bytes: Buffer }[] {
  const out: { file: string; bytes: Buffer }[] = [
    { file: '/m/valid.yaml', bytes: Buffer.from(job('valid')) },
    // no schedule, and a schedule firing every second: warnings only, the job is valid
    { file: '/m/warn-unscheduled.yaml', bytes: Buffer.from(job('unscheduled', '  suspend: false')) },
    { file: '/m/warn-frequent.yaml', bytes: Buffer.from(job('frequent', "  schedule: '* * * * * *'")) },
    { file: '/m/multi.yaml', bytes: Buffer.from(`${job('multi-a')}---\n${job('multi-b')}`) },
    { file: '/m/multi-bad.yaml', bytes: Buffer.from(`${job('ok-one')}---\n${job('bad-one').replace('location:', 'locashun:')}`) },
    // a name defined twice in one file: the message names the file (path:line:col)
    { file: '/m/dup.yaml', bytes: Buffer.from(`${job('twice')}---\n${job('twice')}`) },
    { file: '/m/syntax.yaml', bytes: Buffer.from(`${job('syntax')}  bad: [unclosed\n`) },
    { file: '/m/job.json', bytes: Buffer.from(JSON.stringify({ apiVersion: 'acictl.dev/v1', kind: 'ContainerJob', metadata: { name: 'from-json' }, spec: { schedule: '@daily', template: { resourceGroup: 'rg', location: 'eastus', containers: [{ name: 'main', image: 'busybox:1', resources: { requests: { cpu: 1, memoryInGB: 1 } } }] } } })) },
    { file: '/m/binary.yaml', bytes: Buffer.from([0, 1, 2, 255, 0, 7]) },
    { file: '/m/empty.yaml', bytes: Buffer.from('# nothing here\n') },
  ];
  for (const d of ['test/fixtures/manifests/invalid', 'test/fixtures/manifests/duplicate', 'manifests']) {
    for (const f of readdirSync(path.join(ROOT, d)).sort()) {
      if (!/\.(ya?ml|json)$/.test(f)) continue;
      out.push({ file: path.join('/fixtures', d, f), bytes: readFileSync(path.join(ROOT, d, f)) });
    }
  }
  return out;
}

describe('PersistentValidationCache', () => {
  test('a hit read back by a new connection equals a fresh validation, for every kind of file', () => {
    const files = corpus();
    const fresh = files.map((f) => validateForWatcher(f.bytes, f.file));
    // the corpus really covers what it claims
    expect(fresh.some((r) => r.jobs.length === 2 && r.diagnostics.length === 0)).toBe(true);
    expect(fresh.some((r) => r.jobs.length > 0 && r.diagnostics.some((d) => d.severity === 'error'))).toBe(true);
    expect(fresh.some((r) => r.jobs.length > 0 && r.diagnostics.length > 0 && r.diagnostics.every((d) => d.severity === 'warning'))).toBe(true);
    expect(fresh.some((r) => r.diagnostics.some((d) => d.message.includes('/m/dup.yaml:')))).toBe(true);
    expect(fresh.filter((r) => r.jobs.length === 0).length).toBeGreaterThan(50);

    const writer = open();
    files.forEach((f, i) => writer.set(f.file, sha(f.bytes), fresh[i]!));
    writer.close();
    expect(writer.stats.uncacheable).toBe(0);

    const reader = open();
    expect(reader.size()).toBe(files.length);
    for (const f of files) {
      // compared with a new validation, not with the object stored: nothing is shared or mutated
      expect(reader.get(f.file, sha(f.bytes))).toStrictEqual(validateForWatcher(f.bytes, f.file));
    }
    expect(reader.stats.hits).toBe(files.length);
  });

  test('the key covers the path, the format, the limits and the validator fingerprint', () => {
    const bytes = Buffer.from(`${job('twice')}---\n${job('twice')}`);
    const h = sha(bytes);
    const a = open({ fingerprint: 'validator-1' });
    a.set('/m/a.yaml', h, validateForWatcher(bytes, '/m/a.yaml'));
    a.close();

    const b = open({ fingerprint: 'validator-1' });
    expect(b.get('/m/a.yaml', h)).toStrictEqual(validateForWatcher(bytes, '/m/a.yaml'));
    // the same bytes elsewhere: their messages would name the other file
    expect(b.get('/m/b.yaml', h)).toBeUndefined();
    // another extension is another format (JSON rejects YAML syntax)
    expect(b.get('/m/a.json', h)).toBeUndefined();
    // other content
    expect(b.get('/m/a.yaml', sha(Buffer.from(job('other'))))).toBeUndefined();
    b.close();

    expect(open({ fingerprint: 'validator-1', limits: { maxDocuments: 1 } }).get('/m/a.yaml', h)).toBeUndefined();
    opened.pop()!.close();
    // a new validator: not a hit, and the rows of the old one are dropped when the file is opened
    const c = open({ fingerprint: 'validator-2' });
    expect(c.size()).toBe(0);
    expect(c.get('/m/a.yaml', h)).toBeUndefined();
  });

  test('the default fingerprint covers every module the validation runs, the schema and the packages it uses', () => {
    const fp = validatorFingerprint();
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(validatorFingerprint()).toBe(fp);
    const { files, packages } = validatorFingerprintInputs();
    const rel = files.map((f) => path.relative(ROOT, f));
    for (const m of ['manifest/validate', 'manifest/load', 'manifest/schema', 'manifest/semantic', 'manifest/validate-pool', 'manifest/validate-worker', 'manifest/persistent-cache', 'schedule/index', 'schedule/zone', 'api/duration']) {
      expect(rel).toContain(`src/${m}.ts`); // under ts-jest the sources themselves; the compiled .js in dist/
    }
    expect(rel).toContain('schemas/containerjob.v1.schema.json');
    expect(packages.map((p) => path.basename(path.dirname(p))).sort()).toEqual(expect.arrayContaining(['ajv', 'ajv-formats', 'croner', 'yaml']));
    // two caches without an explicit fingerprint share their rows
    const bytes = Buffer.from(job('same'));
    const a = open();
    a.set('/m/same.yaml', sha(bytes), validateForWatcher(bytes, '/m/same.yaml'));
    a.close();
    expect(open().get('/m/same.yaml', sha(bytes))).toBeDefined();
    // and one given another fingerprint does not
    opened.pop()!.close();
    expect(open({ fingerprint: fp.replace(/^./, (c) => (c === '0' ? '1' : '0')) }).get('/m/same.yaml', sha(bytes))).toBeUndefined();
  });

  test('writes are committed in batches, not one commit per file', () => {
    const c = open({ batchSize: 3 });
    const other = new DatabaseSync(dbFile);
    const rows = () => Number((other.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n);
    try {
      const r = validateForWatcher(Buffer.from(job('x')), '/m/x.yaml');
      c.set('/m/1.yaml', 'h1', r);
      c.set('/m/2.yaml', 'h2', r);
      expect(rows()).toBe(0); // queued, and already visible to this process
      expect(c.get('/m/2.yaml', 'h2')).toStrictEqual(r);
      c.set('/m/3.yaml', 'h3', r);
      expect(rows()).toBe(3);
      c.set('/m/4.yaml', 'h4', r);
      c.forget('/m/1.yaml', 'h1');
      expect(c.get('/m/1.yaml', 'h1')).toBeUndefined(); // a queued forget is seen at once too
      expect(rows()).toBe(3);
      c.flush(4);
      expect(rows()).toBe(3);
    } finally {
      other.close();
    }
  });

  test('the table is bounded: at most max(minEntries, entriesPerLiveFile × live files) rows, least recently used evicted', () => {
    let now = 1_000_000;
    const c = open({ minEntries: 10, entriesPerLiveFile: 2, touchAfterMs: 0, now: () => now });
    const r = validateForWatcher(Buffer.from(job('x')), '/m/x.yaml');
    // 100 "passes" over 5 live files, each pass editing every file: 500 contents seen in all
    for (let pass = 0; pass < 100; pass++) {
      now += 1000;
      for (let f = 0; f < 5; f++) c.set(`/m/${f}.yaml`, `pass-${pass}`, r);
      c.flush(5);
      expect(c.size()).toBeLessThanOrEqual(10);
    }
    expect(c.stats.evicted).toBe(490);
    // the most recent contents are the ones kept
    for (let f = 0; f < 5; f++) expect(c.get(`/m/${f}.yaml`, 'pass-99')).toBeDefined();
    expect(c.get('/m/0.yaml', 'pass-97')).toBeUndefined();
    // a hit refreshes its row: it outlives newer rows that were not used
    now += 1000;
    expect(c.get('/m/0.yaml', 'pass-98')).toBeDefined();
    c.flush();
    now += 1000;
    for (let f = 0; f < 5; f++) c.set(`/m/${f}.yaml`, 'pass-100', r);
    c.flush(5);
    expect(c.get('/m/0.yaml', 'pass-98')).toBeDefined();
    expect(c.get('/m/1.yaml', 'pass-98')).toBeUndefined();
    expect(c.size()).toBe(10);
  });

  test('a garbage file: one warning, the file is replaced by an empty cache, nothing throws', () => {
    writeFileSync(dbFile, Buffer.alloc(8192, 'not a database at all '));
    const w = warnings();
    const c = open({ logger: w.log });
    expect(w.seen).toEqual(['validation cache file is corrupt; replacing it with an empty one']);
    expect(c.enabled).toBe(true);
    const bytes = Buffer.from(job('after-garbage'));
    expect(c.get('/m/a.yaml', sha(bytes))).toBeUndefined();
    c.set('/m/a.yaml', sha(bytes), validateForWatcher(bytes, '/m/a.yaml'));
    c.close();
    expect(open().get('/m/a.yaml', sha(bytes))).toStrictEqual(validateForWatcher(bytes, '/m/a.yaml'));
  });

  test('a file that cannot be opened (a directory in its place): one warning, a disabled cache that misses', () => {
    mkdirSync(dbFile);
    const w = warnings();
    const c = open({ logger: w.log });
    expect(c.enabled).toBe(false);
    expect(w.seen).toEqual(['validation cache unavailable; every manifest file is validated']);
    const bytes = Buffer.from(job('x'));
    c.set('/m/x.yaml', sha(bytes), validateForWatcher(bytes, '/m/x.yaml'));
    expect(c.get('/m/x.yaml', sha(bytes))).toBeUndefined();
    c.forget('/m/x.yaml', sha(bytes));
    c.flush(1);
    expect(c.size()).toBe(0);
    expect(statSync(dbFile).isDirectory()).toBe(true);
  });

  test('a file locked by another connection: one warning, then the cache stands aside', () => {
    const first = open();
    first.close();
    const locker = new DatabaseSync(dbFile);
    locker.exec('BEGIN EXCLUSIVE');
    try {
      const w = warnings();
      const c = open({ logger: w.log, busyTimeoutMs: 10 });
      const bytes = Buffer.from(job('x'));
      // opened (WAL readers are not blocked) or not: either way nothing throws and a write gives up
      c.set('/m/x.yaml', sha(bytes), validateForWatcher(bytes, '/m/x.yaml'));
      c.flush(1);
      expect(w.seen).toHaveLength(1);
      expect(c.enabled).toBe(false);
      expect(c.get('/m/x.yaml', sha(bytes))).toBeUndefined();
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
  });

  test('a stored value that is not a validation result is a miss, and the next result replaces it', () => {
    const bytes = Buffer.from(job('x'));
    const c = open();
    const r = validateForWatcher(bytes, '/m/x.yaml');
    c.set('/m/x.yaml', sha(bytes), r);
    c.close();
    const db = new DatabaseSync(dbFile);
    db.exec(`UPDATE entries SET value = '{"jobs": 1'`);
    db.close();
    const d = open();
    expect(d.get('/m/x.yaml', sha(bytes))).toBeUndefined();
    d.set('/m/x.yaml', sha(bytes), r);
    d.flush(1);
    expect(d.get('/m/x.yaml', sha(bytes))).toStrictEqual(r);
    expect(d.size()).toBe(1);
  });

  test('a result JSON would not reproduce exactly (NaN, undefined, a Date) is not cached', () => {
    const c = open();
    const r = validateForWatcher(Buffer.from(job('x')), '/m/x.yaml');
    const odd = structuredClone(r);
    (odd.jobs[0]!.job.spec as unknown as Record<string, unknown>).retries = NaN;
    c.set('/m/odd.yaml', 'h', odd);
    const undef = structuredClone(r);
    undef.diagnostics.push({ file: '/m/u.yaml', line: 1, column: 1, pointer: '', message: 'm', severity: 'warning', document: undefined });
    c.set('/m/u.yaml', 'h', undef);
    const dated = structuredClone(r);
    (dated.jobs[0]!.job.spec as unknown as Record<string, unknown>).startTime = new Date(0);
    c.set('/m/d.yaml', 'h', dated);
    expect(c.stats.uncacheable).toBe(3);
    expect(c.get('/m/d.yaml', 'h')).toBeUndefined();
    expect(c.get('/m/odd.yaml', 'h')).toBeUndefined();
    expect(c.get('/m/u.yaml', 'h')).toBeUndefined();
  });
});
