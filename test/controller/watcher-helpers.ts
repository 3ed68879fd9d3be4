/**
 * A small stand-in for src/manifest/validate.ts's `validateText` (parse YAML with positions and
 * check the envelope), so the watcher and source-sync tests do not depend on the full validator.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import type { ContainerJob } from '../../src/api/types';
import type { FileValidation, FileValidator } from '../../src/controller/watcher';

const TOP = new Set(['apiVersion', 'kind', 'metadata', 'spec']);

export const fakeValidate: FileValidator = (content: Buffer | string, file: string): FileValidation => {
  const text = content.toString();
  const out: FileValidation = { jobs: [], diagnostics: [] };
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc });
  if (!Array.isArray(docs)) return out;
  if (docs.length === 0) {
    out.diagnostics.push({ file, line: 0, column: 0, pointer: '', message: 'empty file', severity: 'error' });
  }
  for (const doc of docs) {
    const start = lc.linePos(doc.contents?.range?.[0] ?? 0);
    if (doc.errors.length) {
      const e = doc.errors[0];
      const p = lc.linePos(e.pos[0]);
      out.diagnostics.push({ file, line: p.line, column: p.col, pointer: '', message: e.message.split('\n')[0], severity: 'error' });
      continue;
    }
    const value = doc.toJS() as Record<string, unknown> | null;
    if (!value || typeof value !== 'object') continue;
    const bad = Object.keys(value).find((k) => !TOP.has(k));
    if (bad) {
      const node = (doc.contents as { items?: { key: { value: string; range: number[] } }[] }).items?.find((i) => i.key.value === bad);
      const p = lc.linePos(node?.key.range[0] ?? 0);
      out.diagnostics.push({ file, line: p.line, column: p.col, pointer: `/${bad}`, message: `unknown field "${bad}"`, severity: 'error' });
      continue;
    }
    const job = value as unknown as ContainerJob;
    if (!job.metadata?.name || !job.spec?.template) {
      out.diagnostics.push({ file, line: start.line, column: start.col, pointer: '/spec', message: 'metadata.name and spec.template are required', severity: 'error' });
      continue;
    }
    out.jobs.push({ job, file, line: start.line, column: start.col });
  }
  return out;
};

/** A manifest text for one job; `image` lets a test tell versions apart. */
export function manifest(name: string, image = 'busybox:1', labels: Record<string, string> = {}): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `\n    ${k}: "${v}"`)
    .join('');
  return `apiVersion: acictl.dev/v1
kind: ContainerJob
metadata:
  name: ${name}${l ? `\n  labels:${l}` : ''}
spec:
  schedule: "@daily"
  template:
    resourceGroup: rg
    location: eastus
    containers:
      - name: main
        image: ${image}
        resources: {requests: {cpu: 1, memoryInGB: 1}}
`;
}
