/**
 * Proves that the hand-written types of src/api/types.ts and the JSON Schema agree.
 *
 * The schema is compiled to TypeScript with json-schema-to-typescript, and a small program asserts,
 * with the TypeScript compiler, that each hand-written type is *identical* (not merely assignable:
 * an extra optional field on either side fails) to its generated counterpart. A control file with a
 * known difference must fail, so the check cannot pass vacuously.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ts from 'typescript';
import { execFileSync } from 'node:child_process';

const ROOT = resolve(__dirname, '../..');

const EQUALS = `type Equals<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false;
function same<X, Y>(ok: Equals<X, Y>): void { void ok; }
`;

/** [hand-written type expression, generated type name] */
const PAIRS: Array<[string, string]> = [
  ['H.ContainerJob', 'G.ContainerJob'],
  ['H.ObjectMeta', 'G.ObjectMeta'],
  ['H.ContainerJobSpec', 'G.ContainerJobSpec'],
  ['H.Dependency', 'G.Dependency'],
  ['H.NotifyTarget', 'G.NotifyTarget'],
  ['H.NotifyEvent', 'G.NotifyEvent'],
  ['H.WebhookTarget', 'G.WebhookTarget'],
  ['H.EmailTarget', 'G.EmailTarget'],
  ['H.GroupTemplate', 'G.GroupTemplate'],
  ['H.Container', 'G.Container'],
  ['H.InitContainer', 'G.InitContainer'],
  ['H.EnvironmentVariable', 'G.EnvironmentVariable'],
  ['H.SecretRef', 'G.SecretRef'],
  ['H.ResourceAmounts', 'G.ResourceAmounts'],
  ['H.GpuResource', 'G.GpuResource'],
  ['H.ContainerPort', 'G.ContainerPort'],
  ['H.VolumeMount', 'G.VolumeMount'],
  ['H.ImageRegistryCredential', 'G.ImageRegistryCredential'],
  ['H.Volume', 'G.Volume'],
  ['H.IpAddress', 'G.IpAddress'],
  ["NonNullable<H.GroupTemplate['diagnostics']>", 'G.Diagnostics'],
  ["NonNullable<H.GroupTemplate['identity']>", 'G.Identity'],
  ["NonNullable<H.GroupTemplate['dnsConfig']>", 'G.DnsConfig'],
  ["H.Container['resources']", 'G.ContainerResources'],
  ["NonNullable<H.ContainerJobSpec['cleanup']>", 'G.CleanupPolicy'],
  ["NonNullable<H.ContainerJobSpec['retryBackoff']>", 'G.RetryBackoff'],
];

describe('src/api/types.ts agrees with schemas/containerjob.v1.schema.json', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'acictl-schema-types-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every hand-written type is identical to the type generated from the schema', () => {
    // json-schema-to-typescript loads prettier with a dynamic import, which jest's VM refuses: run it
    // in a child process of the same Node.
    const script = `
      const { compile } = require('json-schema-to-typescript');
      const schema = require(${JSON.stringify(join(ROOT, 'schemas/containerjob.v1.schema.json'))});
      compile(schema, 'ContainerJob', { bannerComment: '', format: false, ignoreMinAndMaxItems: true })
        .then((t) => process.stdout.write(t), (e) => { console.error(e); process.exit(1); });`;
    const generated = execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(generated).toContain('export interface ContainerJob');
    writeFileSync(join(dir, 'generated.ts'), generated);
    const typesPath = join(ROOT, 'src/api/types').replace(/\\/g, '/');
    const checks = PAIRS.map(([h, g]) => `same<${h}, ${g}>(true);`).join('\n');
    writeFileSync(
      join(dir, 'check.ts'),
      `import type * as H from '${typesPath}';\nimport type * as G from './generated';\n${EQUALS}\n${checks}\n`,
    );
    // Control: a type that differs from the schema only by an extra optional field must be rejected.
    writeFileSync(
      join(dir, 'control.ts'),
      `import type * as G from './generated';\n${EQUALS}\nsame<G.ContainerPort & { extra?: string }, G.ContainerPort>(true);\n`,
    );
    const program = ts.createProgram([join(dir, 'check.ts'), join(dir, 'control.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      types: [],
      skipLibCheck: true,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program);
    const describe = (d: ts.Diagnostic) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const text = d.file && where ? d.file.text.split('\n')[where.line] : '';
      return `${d.file?.fileName ?? ''}:${where ? where.line + 1 : 0}: ${text} — ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    };
    const inCheck = diagnostics.filter((d) => d.file?.fileName.endsWith('check.ts') || !d.file);
    const inControl = diagnostics.filter((d) => d.file?.fileName.endsWith('control.ts'));
    expect(inCheck.map(describe)).toEqual([]);
    expect(inControl.length).toBe(1);
  }, 30000);
});
