/**
 * The emulator's switches for ACI behaviours Microsoft's specification does not settle (issue 18):
 * If-None-Match honour | ignore | reject, list with | without container instance views, creates
 * visible in list at once | after a delay.
 */
import { startEmulator, type EmulatorBehaviour, type RunningEmulator } from '../../src/emulator';
import { clientFor, FAST, shGroup, waitFor } from './helpers';

const RG = 'beh-rg';

async function withEmu<T>(behaviour: Partial<EmulatorBehaviour>, fn: (emu: RunningEmulator) => Promise<T>): Promise<T> {
  const emu = await startEmulator({ runtime: 'simulate', simulate: { durationMs: 3000 }, lroDelayMs: 10, behaviour });
  try {
    return await fn(emu);
  } finally {
    await emu.close();
  }
}

async function putWithHeader(emu: RunningEmulator, name: string): Promise<{ status: number; code?: string }> {
  const client = clientFor(emu, { maxRetries: 0 });
  try {
    const r = await client.containerGroups.beginCreateOrUpdate(RG, name, shGroup('true'), { requestOptions: { customHeaders: { 'If-None-Match': '*' } }, ...FAST });
    const res = await r.pollUntilDone();
    return { status: res.provisioningState === 'Succeeded' ? 200 : 0 };
  } catch (e) {
    const err = e as { statusCode?: number; code?: string };
    return { status: err.statusCode ?? 0, code: err.code };
  }
}

const reExecuted = (emu: RunningEmulator) => emu.stats().starts.filter((s) => s.reason === 'update').length;

describe('If-None-Match: * on an existing group', () => {
  test('honour: 412 PreconditionFailed, nothing restarted', async () => {
    await withEmu({ ifNoneMatch: 'honour' }, async (emu) => {
      await clientFor(emu).containerGroups.beginCreateOrUpdateAndWait(RG, 'g', shGroup('true'), FAST);
      expect(await putWithHeader(emu, 'g')).toEqual({ status: 412, code: 'PreconditionFailed' });
      expect(reExecuted(emu)).toBe(0);
    });
  });

  test('ignore: the PUT is an update (200) and restarts the containers', async () => {
    await withEmu({ ifNoneMatch: 'ignore' }, async (emu) => {
      await clientFor(emu).containerGroups.beginCreateOrUpdateAndWait(RG, 'g', shGroup('true'), FAST);
      expect((await putWithHeader(emu, 'g')).status).toBe(200);
      await waitFor(() => reExecuted(emu) === 1 || undefined, 5000);
      expect(emu.stats().creations).toHaveLength(1);
    });
  });

  test('reject: any PUT carrying the header is refused with 400, even for a new group; without it the PUT works', async () => {
    await withEmu({ ifNoneMatch: 'reject' }, async (emu) => {
      const r = await putWithHeader(emu, 'fresh');
      expect(r.status).toBe(400);
      expect(r.code).toBe('InvalidHeaderValue');
      expect(emu.stats().creations).toHaveLength(0);
      await clientFor(emu).containerGroups.beginCreateOrUpdateAndWait(RG, 'fresh', shGroup('true'), FAST);
      expect(emu.stats().creations).toHaveLength(1);
    });
  });
});

describe('list responses', () => {
  test('without instance views (default): neither the group nor its containers carry one', async () => {
    await withEmu({}, async (emu) => {
      const client = clientFor(emu);
      await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'g', shGroup('sleep 1'), FAST);
      const items = [];
      for await (const g of client.containerGroups.listByResourceGroup(RG)) items.push(g);
      expect(items).toHaveLength(1);
      expect(items[0].instanceView).toBeUndefined();
      expect(items[0].containers[0].instanceView).toBeUndefined();
    });
  });

  test('with instance views: each container carries its instance view (state, restartCount, events), the group none — as the 2023-05-01 List example', async () => {
    await withEmu({ listInstanceViews: true }, async (emu) => {
      const client = clientFor(emu);
      await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'g', shGroup('sleep 1'), FAST);
      const item = await waitFor(async () => {
        for await (const g of client.containerGroups.list()) if (g.containers[0].instanceView?.currentState) return g;
        return undefined;
      }, 5000);
      const view = item.containers[0].instanceView!;
      expect(view.restartCount).toBe(0);
      expect(view.currentState?.state).toBe('Running');
      expect(Array.isArray(view.events)).toBe(true);
      expect(item.instanceView).toBeUndefined();
    });
  });

  test('list delay: a created group is invisible to list for the delay, GET sees it at once', async () => {
    await withEmu({ listDelayMs: 600 }, async (emu) => {
      const client = clientFor(emu);
      const created = Date.now();
      await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'late', shGroup('true'), FAST);
      expect((await client.containerGroups.get(RG, 'late')).name).toBe('late');
      const names = async () => {
        const out: string[] = [];
        for await (const g of client.containerGroups.listByResourceGroup(RG)) out.push(g.name!);
        return out;
      };
      if (Date.now() - created < 500) expect(await names()).toEqual([]);
      await waitFor(async () => ((await names()).includes('late') ? true : undefined), 3000);
      expect(Date.now() - created).toBeGreaterThanOrEqual(590);
    });
  });
});
