/** The CLI's pure output helpers: the unified diff, tables, human times, the plan preview and the apply merge. */
import fc from 'fast-check';
import { diffLines, unifiedDiff } from '../../src/cli/output/unified-diff';
import { formatTable } from '../../src/cli/output/table';
import { humanDuration } from '../../src/cli/output/time';
import { desiredObject, isUnchanged, planPreview } from '../../src/cli/desired';
import { tailLines } from '../../src/cli/commands/logs';
import type { JobObject } from '../../src/cli/client/resources';
import { jobObject } from './harness';

/** Applies a unified diff to the old lines (a minimal `patch`). */
function applyPatch(oldLines: string[], patch: string): string[] {
  const out: string[] = [];
  let pos = 0; // index into oldLines
  const lines = patch.split('\n').slice(2);
  for (let i = 0; i < lines.length; i++) {
    const m = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$/.exec(lines[i]);
    if (!m) continue;
    const aStart = Number(m[2]) === 0 ? Number(m[1]) : Number(m[1]) - 1;
    while (pos < aStart) out.push(oldLines[pos++]);
    for (i++; i < lines.length && !lines[i].startsWith('@@') && lines[i] !== ''; i++) {
      const [op, text] = [lines[i][0], lines[i].slice(1)];
      if (op === ' ') {
        expect(oldLines[pos]).toBe(text);
        out.push(oldLines[pos++]);
      } else if (op === '-') {
        expect(oldLines[pos]).toBe(text);
        pos++;
      } else out.push(text);
    }
    i--;
  }
  while (pos < oldLines.length) out.push(oldLines[pos++]);
  return out;
}

function lcsLength(a: string[], b: string[]): number {
  const dp: number[][] = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  return dp[0][0];
}

describe('unifiedDiff', () => {
  it('prints the classic format with 3 lines of context', () => {
    const a = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const b = 'a\nb\nc\nd\nE\nf\ng\nh\n';
    expect(unifiedDiff(a, b, 'old', 'new')).toBe('--- old\n+++ new\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n');
    expect(unifiedDiff(a, a, 'old', 'new')).toBe('');
    expect(unifiedDiff('', 'x\ny\n', '/dev/null', 'new')).toBe('--- /dev/null\n+++ new\n@@ -0,0 +1,2 @@\n+x\n+y\n');
    expect(unifiedDiff('x\n', '', 'old', '/dev/null')).toBe('--- old\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-x\n');
  });

  it('splits far-apart changes into separate hunks', () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const b = [...a];
    b[1] = 'X';
    b[18] = 'Y';
    const d = unifiedDiff(a.join('\n') + '\n', b.join('\n') + '\n', 'o', 'n');
    expect(d.match(/^@@/gm)).toHaveLength(2);
    expect(d).toContain('@@ -1,5 +1,5 @@');
    expect(d).toContain('@@ -16,5 +16,5 @@');
  });

  it('is a correct and minimal edit script (property)', () => {
    const line = fc.constantFrom('a', 'b', 'c', 'd', 'e');
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), fc.array(line, { maxLength: 25 }), (a, b) => {
        const ops = diffLines(a, b);
        const changes = ops.filter((o) => o.kind !== ' ').length;
        expect(changes).toBe(a.length + b.length - 2 * lcsLength(a, b));
        const patch = unifiedDiff(a.map((x) => x + '\n').join(''), b.map((x) => x + '\n').join(''), 'o', 'n');
        expect(patch === '' ? a : applyPatch(a, patch)).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });
});

describe('tables and times', () => {
  it('aligns columns with three spaces and no trailing blanks', () => {
    expect(formatTable(['NAME', 'AGE'], [['a', '5m'], ['longer-name', '3d']])).toBe('NAME          AGE\na             5m\nlonger-name   3d\n');
  });

  it('formats durations like kubectl', () => {
    expect([45_000, 330_000, 95 * 60_000, 5.5 * 3_600_000, 30 * 3_600_000, 3 * 86_400_000 + 4 * 3_600_000, 400 * 86_400_000, 900 * 86_400_000].map(humanDuration)).toEqual(['45s', '5m30s', '95m', '5h30m', '30h', '3d4h', '400d', '2y']);
  });

  it('tails lines', () => {
    expect(tailLines('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(tailLines('a\nb\nc', 1)).toBe('c');
    expect(tailLines('a\n', 0)).toBe('');
  });
});

describe('apply merge and plan preview', () => {
  const live = (labels: Record<string, string>, annotations: Record<string, string>): JobObject => ({
    ...(jobObject('j') as unknown as JobObject),
    metadata: { name: 'j', resourceVersion: '7', labels, annotations, finalizers: ['acictl.dev/cleanup'] },
  });

  it('removes labels it applied before, keeps labels added by others, keeps finalizers and the resourceVersion', () => {
    const first = desiredObject(jobObject('j', { team: 'a', tier: 'batch' }), undefined, 'set1');
    expect(first.metadata.labels).toEqual({ team: 'a', tier: 'batch', 'acictl.dev/applyset': 'set1' });
    const current = live({ ...first.metadata.labels!, 'added-by': 'kubectl' }, first.metadata.annotations!);
    const next = desiredObject(jobObject('j', { team: 'b' }), current, undefined);
    expect(next.metadata.labels).toEqual({ team: 'b', 'added-by': 'kubectl', 'acictl.dev/applyset': 'set1' });
    expect(next.metadata.finalizers).toEqual(['acictl.dev/cleanup']);
    expect(next.metadata.resourceVersion).toBe('7');
    expect(isUnchanged(desiredObject(jobObject('j', { team: 'a', tier: 'batch' }), current, 'set1'), current)).toBe(true);
    expect(isUnchanged(next, current)).toBe(false);
  });

  it('classifies template changes as the controller would (DESIGN §3)', () => {
    const a = jobObject('j').spec;
    expect(planPreview('j', undefined, a)).toMatch(/^containerjob\/j: create/);
    expect(planPreview('j', a, a)).toBeUndefined();
    const cpu = structuredClone(a);
    cpu.template.containers[0].resources.requests.cpu = 2;
    cpu.groupPolicy = 'Reuse';
    expect(planPreview('j', a, cpu)).toMatch(/recreate the job group at the next run \(changed: CPU, memory or GPU\)/);
    const image = structuredClone(a);
    image.template.containers[0].image = 'busybox:2';
    image.groupPolicy = 'Reuse';
    expect(planPreview('j', a, image)).toMatch(/update the job group in place at the next run \(changed: template\/containers\/0\/image\)/);
    const sched = { ...a, schedule: '@daily' };
    expect(planPreview('j', a, sched)).toBe('containerjob/j: controller settings changed: schedule');
  });
});
