/**
 * Exactly once without trusting If-None-Match (issue 18): the create guard against the emulator in
 * each reading of the header — honoured (412), ignored (the PUT updates and restarts the group),
 * rejected (400) — with PUT responses lost after the PUT was processed.
 */
import { TAG_RUN } from '../../src/api/names';
import { AciError } from '../../src/aci/types';
import { startEmulator, type IfNoneMatchMode } from '../../src/emulator';
import { makeAdapter, type Emulator, type Exchange } from './emulator-harness';
import { desiredGroup, minimalTemplate } from './fixtures';

const RG = 'rg-guard';
const RETRY = { maxRetries: 3, baseDelayMs: 5, maxDelayMs: 20 };

async function withEmulator<T>(mode: IfNoneMatchMode, faults: string | undefined, fn: (emu: Emulator) => Promise<T>): Promise<T> {
  const emu = await startEmulator({ runtime: 'simulate', simulate: { durationMs: 5000 }, lroDelayMs: 5, faults, behaviour: { ifNoneMatch: mode } });
  try {
    return await fn(emu);
  } finally {
    await emu.close();
  }
}

/** Container runs started other than by the group's creation: a re-executed slot. */
function reExecutions(emu: Emulator): string[] {
  return emu.stats().starts.filter((s) => s.reason !== 'create').map((s) => `${s.name} (${s.reason})`);
}

/** Deployments start their containers after the LRO delay (5 ms here). */
const settle = () => new Promise((r) => setTimeout(r, 150));

const ref = (emu: Emulator, name: string) => ({ subscriptionId: emu.subscriptionId, resourceGroup: RG, name });

describe('every PUT response lost after the PUT was processed (put:lost=1)', () => {
  test('ignored header, guard off: the retried create PUT updates the group and re-runs the slot (the duplicate the guard prevents)', async () => {
    await withEmulator('ignore', 'put:lost=1,seed=1', async (emu) => {
      const aci = makeAdapter(emu, 'ctl-g', [], { retry: RETRY, createGuard: false });
      const err = await aci.createOrUpdate(desiredGroup(ref(emu, 'slot-a'), minimalTemplate({ resourceGroup: RG }), 'ctl-g'), { ifNoneMatch: true }).catch((e) => e);
      expect(err).toBeInstanceOf(AciError);
      await settle();
      expect(emu.stats().creations).toHaveLength(1);
      expect(reExecutions(emu).length).toBeGreaterThan(0);
    });
  });

  test('ignored header, guard on: the earlier PUT is found by GET (tags match) and adopted; the slot runs once', async () => {
    await withEmulator('ignore', 'put:lost=1,seed=1', async (emu) => {
      const log: Exchange[] = [];
      const aci = makeAdapter(emu, 'ctl-g', log, { retry: RETRY });
      const g = await aci.createOrUpdate(desiredGroup(ref(emu, 'slot-b'), minimalTemplate({ resourceGroup: RG }), 'ctl-g'), { ifNoneMatch: true });
      expect(g.name).toBe('slot-b');
      expect(g.tags[TAG_RUN]).toBe('slot-b');
      await settle();
      expect(emu.stats().creations).toHaveLength(1);
      expect(reExecutions(emu)).toEqual([]);
      expect(emu.stats().requests.put).toBe(1);
    });
  });

  test('honoured header, guard off: every retry meets the precondition (412) and nothing re-runs — the old guarantee, which needs the header', async () => {
    await withEmulator('honour', 'put:lost=1,seed=1', async (emu) => {
      const aci = makeAdapter(emu, 'ctl-g', [], { retry: RETRY, createGuard: false });
      const err = await aci.createOrUpdate(desiredGroup(ref(emu, 'slot-c'), minimalTemplate({ resourceGroup: RG }), 'ctl-g'), { ifNoneMatch: true }).catch((e) => e);
      expect(err).toBeInstanceOf(AciError);
      expect(emu.stats().requests.put).toBe(RETRY.maxRetries + 1);
      await settle();
      expect(emu.stats().creations).toHaveLength(1);
      expect(reExecutions(emu)).toEqual([]);
    });
  });

  test('rejected header, guard on: the 400 switches the header off, the create goes through once, later creates send no header', async () => {
    await withEmulator('reject', undefined, async (emu) => {
      const aci = makeAdapter(emu, 'ctl-g', [], { retry: RETRY });
      const g = await aci.createOrUpdate(desiredGroup(ref(emu, 'slot-d'), minimalTemplate({ resourceGroup: RG }), 'ctl-g'), { ifNoneMatch: true });
      expect(g.name).toBe('slot-d');
      expect(aci.precondition.headerRefused).toBe(true);
      const puts = emu.stats().requests.put;
      expect(puts).toBe(2); // refused with the header, then sent without it
      await aci.createOrUpdate(desiredGroup(ref(emu, 'slot-e'), minimalTemplate({ resourceGroup: RG }), 'ctl-g'), { ifNoneMatch: true });
      expect(emu.stats().requests.put).toBe(puts + 1);
      expect(emu.stats().creations.map((c) => c.name)).toEqual(['slot-d', 'slot-e']);
      await settle();
      expect(reExecutions(emu)).toEqual([]);
    });
  });
});

describe('a name already taken', () => {
  test('ignored header: a group of somebody else under the name answers Conflict and is never PUT over', async () => {
    await withEmulator('ignore', undefined, async (emu) => {
      const other = makeAdapter(emu, 'ctl-other', [], { retry: RETRY });
      await other.createOrUpdate(desiredGroup(ref(emu, 'taken'), minimalTemplate({ resourceGroup: RG }), 'ctl-other'), { ifNoneMatch: true });
      const aci = makeAdapter(emu, 'ctl-g', [], { retry: RETRY });
      const err = await aci.createOrUpdate(desiredGroup(ref(emu, 'taken'), minimalTemplate({ resourceGroup: RG }), 'ctl-g'), { ifNoneMatch: true }).catch((e) => e);
      expect((err as AciError).kind).toBe('Conflict');
      expect(emu.stats().requests.put).toBe(1);
      await settle();
      expect(reExecutions(emu)).toEqual([]);
    });
  });

  test('when-unsure: a create answered 200 (an update) shows the header is ignored; from then on every create looks first', async () => {
    await withEmulator('ignore', undefined, async (emu) => {
      const other = makeAdapter(emu, 'ctl-other', [], { retry: RETRY });
      for (const n of ['t1', 't2']) await other.createOrUpdate(desiredGroup(ref(emu, n), minimalTemplate({ resourceGroup: RG }), 'ctl-other'), { ifNoneMatch: true });
      const aci = makeAdapter(emu, 'ctl-g', [], { retry: RETRY, lookBeforeCreate: 'when-unsure' });
      await aci.createOrUpdate(desiredGroup(ref(emu, 't1'), minimalTemplate({ resourceGroup: RG }), 'ctl-g'), { ifNoneMatch: true });
      expect(aci.precondition.headerIgnored).toBe(true);
      const err = await aci.createOrUpdate(desiredGroup(ref(emu, 't2'), minimalTemplate({ resourceGroup: RG }), 'ctl-g'), { ifNoneMatch: true }).catch((e) => e);
      expect((err as AciError).kind).toBe('Conflict');
      await settle();
      expect(reExecutions(emu)).toEqual(['t1 (update)']);
    });
  });
});
