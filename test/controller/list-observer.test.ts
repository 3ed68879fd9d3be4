/**
 * Observation from list items' instance views when the service puts them there (the 2023-05-01
 * List example), GET otherwise (the 2022-09-01 example), against the emulator in both shapes.
 */
import { systemClock } from '../../src/api/clock';
import { startEmulator, type EmulatorBehaviour } from '../../src/emulator';
import { ListObserver } from '../../src/controller/list-observer';
import { makeAdapter, type Emulator } from '../aci/emulator-harness';
import { desiredGroup, minimalTemplate } from '../aci/fixtures';

const RG = 'rg-obs';

async function withEmu<T>(behaviour: Partial<EmulatorBehaviour>, fn: (emu: Emulator) => Promise<T>): Promise<T> {
  const emu = await startEmulator({ runtime: 'simulate', simulate: { durationMs: 400 }, lroDelayMs: 5, behaviour });
  try {
    return await fn(emu);
  } finally {
    await emu.close();
  }
}

const ref = (emu: Emulator, name: string) => ({ subscriptionId: emu.subscriptionId, resourceGroup: RG, name });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createAll(emu: Emulator, names: string[]) {
  const aci = makeAdapter(emu, 'ctl-o', []);
  for (const n of names) await aci.createOrUpdate(desiredGroup(ref(emu, n), minimalTemplate({ resourceGroup: RG }), 'ctl-o'), { ifNoneMatch: true });
  return aci;
}

test('with list instance views: one listing serves every attempt of the scope; no GET; finished runs are seen finished', async () => {
  await withEmu({ listInstanceViews: true }, async (emu) => {
    const aci = await createAll(emu, ['a', 'b', 'c']);
    await sleep(100);
    const obs = new ListObserver(aci, systemClock);
    const gets0 = emu.stats().requests.get ?? 0;
    const lists0 = emu.stats().requests.list ?? 0;
    const seen = await Promise.all(['a', 'b', 'c'].map((n) => obs.observe(ref(emu, n))));
    expect(seen.map((g) => g.state)).toEqual(['Running', 'Running', 'Running']);
    expect(seen.every((g) => g.viewFrom === 'list' && g.containers?.[0].state === 'Running')).toBe(true);
    expect(emu.stats().requests.list).toBe(lists0 + 1);
    expect(emu.stats().requests.get ?? 0).toBe(gets0);
    await sleep(2600); // past the freshness window and the 400 ms runs
    const done = await obs.observe(ref(emu, 'a'));
    expect(done.state).toBe('Succeeded');
    expect(done.containers?.[0]).toMatchObject({ state: 'Terminated', exitCode: 0 });
    expect(obs.stats).toMatchObject({ fromList: 4, byGet: 0, listings: 2 });
  });
});

test('without list instance views: observation falls back to GET, and the scope stays on GET (no listing per observation)', async () => {
  await withEmu({ listInstanceViews: false }, async (emu) => {
    const aci = await createAll(emu, ['a', 'b']);
    const obs = new ListObserver(aci, systemClock);
    const lists0 = emu.stats().requests.list ?? 0;
    const a = await obs.observe(ref(emu, 'a'));
    expect(a.state).toBeDefined();
    expect(a.viewFrom).toBeUndefined();
    await sleep(2100);
    await obs.observe(ref(emu, 'b'));
    expect(emu.stats().requests.list).toBe(lists0 + 1);
    expect(obs.stats).toMatchObject({ fromList: 0, byGet: 2, listings: 1 });
  });
});

test('a group not listed yet (list delay) is read with GET, never taken for gone', async () => {
  await withEmu({ listInstanceViews: true, listDelayMs: 5000 }, async (emu) => {
    const aci = await createAll(emu, ['fresh']);
    const obs = new ListObserver(aci, systemClock);
    const g = await obs.observe(ref(emu, 'fresh'));
    expect(g.name).toBe('fresh');
    expect(obs.stats).toMatchObject({ fromList: 0, byGet: 1, listings: 1 });
  });
});
