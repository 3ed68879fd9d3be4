/**
 * Conformance of what we send: every request our adapter makes (through every ContainerGroups
 * operation) is one of Microsoft's published operations — method and path, declared query
 * parameters only, a published api-version, a PUT body with every required field. The one header
 * the published CreateOrUpdate does not declare, `If-None-Match`, is sent only on creates and
 * nothing depends on it (create-guard.ts).
 */
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { TAG_RUN } from '../../../src/api/names';
import { startEmulator } from '../../../src/emulator';
import { makeAdapter, type Emulator } from '../../aci/emulator-harness';
import { desiredGroup, minimalTemplate } from '../../aci/fixtures';
import { API_VERSIONS, missingRequired, OPERATIONS } from './examples';

interface Sent {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

function recorder(out: Sent[]): PipelinePolicy {
  return {
    name: 'conformance-recorder',
    async sendRequest(req, next) {
      out.push({ method: req.method, url: new URL(req.url), headers: req.headers.toJSON(), body: typeof req.body === 'string' ? req.body : undefined });
      return next(req);
    },
  };
}

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ runtime: 'simulate', simulate: { durationMs: 300 }, lroDelayMs: 10, pageSize: 1, behaviour: { listInstanceViews: true } });
});
afterAll(async () => {
  await emu?.close();
});

test('every request of every adapter operation is a published operation with valid parameters and body', async () => {
  const sent: Sent[] = [];
  const aci = makeAdapter(emu, 'ctl-c', [], { additionalPolicies: [{ policy: recorder(sent), position: 'perCall' }] });
  const scope = { subscriptionId: emu.subscriptionId, resourceGroup: 'rg-conf' };
  const refA = { ...scope, name: 'conf-a' };
  const refB = { ...scope, name: 'conf-b' };
  const t = minimalTemplate({ resourceGroup: 'rg-conf' });
  t.containers[0].command = ['/bin/sh', '-c', 'echo hi'];
  await aci.createOrUpdate(desiredGroup(refA, t, 'ctl-c'), { ifNoneMatch: true });
  await aci.createOrUpdate(desiredGroup(refB, t, 'ctl-c'), { ifNoneMatch: true });
  await aci.createOrUpdate(desiredGroup(refA, { ...t, containers: [{ ...t.containers[0], image: 'busybox:2' }] }, 'ctl-c', { [TAG_RUN]: 'conf-a' }));
  await new Promise((r) => setTimeout(r, 400));
  expect((await aci.listOwned(scope)).length).toBe(2); // two pages (pageSize 1): the nextLink is followed
  await aci.listObserved(scope);
  await aci.get(refA);
  await aci.logs(refA, t.containers[0].name, { tail: 10 });
  await aci.stop(refA);
  await aci.start(refA);
  await new Promise((r) => setTimeout(r, 100));
  await aci.delete(refA);
  await aci.delete(refB);

  const seen = new Set<string>();
  for (const s of sent) {
    const op = OPERATIONS.find((o) => o.method === s.method && o.path.test(s.url.pathname));
    expect({ request: `${s.method} ${s.url.pathname}`, op: op?.id ?? null }).toEqual({ request: `${s.method} ${s.url.pathname}`, op: expect.any(String) });
    seen.add(op!.id);
    const v = s.url.searchParams.get('api-version');
    expect(API_VERSIONS as readonly string[]).toContain(v);
    for (const k of s.url.searchParams.keys()) expect({ op: op!.id, param: k, declared: op!.query.includes(k) }).toEqual({ op: op!.id, param: k, declared: true });
    const conditional = Object.keys(s.headers).filter((h) => /^if-/i.test(h));
    if (op!.id === 'ContainerGroups_CreateOrUpdate') {
      const body = JSON.parse(s.body ?? 'null');
      expect({ op: op!.id, missing: missingRequired(body) }).toEqual({ op: op!.id, missing: [] });
      expect(conditional.every((h) => h.toLowerCase() === 'if-none-match')).toBe(true);
    } else {
      expect(conditional).toEqual([]);
    }
  }
  // Everything the adapter can do was exercised.
  expect([...seen].sort()).toEqual(
    ['ContainerGroups_CreateOrUpdate', 'ContainerGroups_Delete', 'ContainerGroups_Get', 'ContainerGroups_ListByResourceGroup', 'ContainerGroups_Start', 'ContainerGroups_Stop', 'Containers_ListLogs'].sort(),
  );
  // The undeclared header goes on creates only (two here), never on the update.
  const withHeader = sent.filter((s) => Object.keys(s.headers).some((h) => h.toLowerCase() === 'if-none-match'));
  expect(withHeader.map((s) => s.url.pathname.split('/').pop())).toEqual(['conf-a', 'conf-b']);
});
