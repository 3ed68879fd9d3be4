/**
 * Manifests nested far deeper than any ContainerJob (issue 20): an error naming the depth limit,
 * with a position, never a stack overflow — for YAML (flow and block), JSON and plain objects.
 */
import { MAX_NESTING_DEPTH } from '../../src/api/depth';
import { validateBytes, validateObject, validateText } from '../../src/manifest/validate';

const HEAD = 'apiVersion: acictl.dev/v1\nkind: ContainerJob\nmetadata:\n  name: deep\nspec:\n  template:\n    tags: ';
const limit = `${MAX_NESTING_DEPTH} levels`;

function onlyError(r: ReturnType<typeof validateText>): { line: number; column: number; message: string } {
  expect(r.jobs).toEqual([]);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  expect(errors).toHaveLength(1);
  return errors[0]!;
}

test.each([
  ['YAML flow sequences, 50,000 levels', () => `${HEAD}${'['.repeat(50_000)}${']'.repeat(50_000)}\n`],
  ['YAML flow mappings, 50,000 levels', () => `${HEAD}${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}\n`],
  ['YAML block sequences on one line, 50,000 levels', () => `${HEAD}\n      ${'- '.repeat(50_000)}x\n`],
  ['YAML flow sequences just past the limit', () => `${HEAD}${'['.repeat(MAX_NESTING_DEPTH)}${']'.repeat(MAX_NESTING_DEPTH)}\n`],
])('%s: an error naming the limit', (_what, text) => {
  const e = onlyError(validateText(text(), 'deep.yaml'));
  expect(e.message).toContain(limit);
  expect(e.line).toBeGreaterThanOrEqual(7);
});

test('JSON file nested 50,000 levels: an error naming the limit', () => {
  const text = `{"apiVersion":"acictl.dev/v1","kind":"ContainerJob","metadata":{"name":"deep"},"spec":{"template":{"tags":${'['.repeat(50_000)}${']'.repeat(50_000)}}}}`;
  const e = onlyError(validateBytes(Buffer.from(text), 'deep.json'));
  expect(e.message).toContain(limit);
});

test('depth built from aliases (each anchor shallow, the expansion deep) is refused too', () => {
  const half = Math.ceil(MAX_NESTING_DEPTH / 2) + 5;
  const text = `${HEAD}\n      x: &inner ${'['.repeat(half)}${']'.repeat(half)}\n      y: ${'['.repeat(half)}*inner${']'.repeat(half)}\n`;
  const e = onlyError(validateText(text, 'alias.yaml'));
  expect(e.message).toContain(limit);
});

test('validateObject: a 50,000-level object is an error naming the limit, not a RangeError', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 50_000; i++) deep = { a: deep };
  const r = validateObject({ apiVersion: 'acictl.dev/v1', kind: 'ContainerJob', metadata: { name: 'deep' }, spec: { template: { tags: deep } } });
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.errors[0]!.message).toContain(limit);
});

test('a manifest at ordinary depth is unaffected', () => {
  const ok = validateText(
    'apiVersion: acictl.dev/v1\nkind: ContainerJob\nmetadata:\n  name: fine\nspec:\n  schedule: "@daily"\n  template:\n    resourceGroup: rg\n    location: eastus\n    containers:\n      - name: main\n        image: busybox\n        environmentVariables:\n          - {name: A, secureValueFrom: {env: A}}\n        resources: {requests: {cpu: 1, memoryInGB: 1}}\n',
    'fine.yaml',
  );
  expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(ok.jobs).toHaveLength(1);
});
