import type { TokenCredential } from '@azure/core-auth';
import { ContainerGroup, ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import type { RunningEmulator } from '../../src/emulator';

/** A credential that returns a fixed token (the emulator accepts any bearer token). */
export const fixedToken: TokenCredential = {
  getToken: async () => ({ token: 'fixed-test-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

export function clientFor(
  emu: RunningEmulator,
  opts: { credential?: TokenCredential; maxRetries?: number } = {},
): ContainerInstanceManagementClient {
  return new ContainerInstanceManagementClient(opts.credential ?? fixedToken, emu.subscriptionId, {
    endpoint: emu.endpoint,
    tlsOptions: { ca: emu.ca },
    retryOptions: { maxRetries: opts.maxRetries ?? 3, retryDelayInMs: 10, maxRetryDelayInMs: 100 },
  });
}

/** Fast LRO polling for tests (the SDK default is 2 s). */
export const FAST = { updateIntervalInMs: 25 };

export function shGroup(script: string, over: Partial<ContainerGroup> & { env?: { name: string; value?: string; secureValue?: string }[] } = {}): ContainerGroup {
  const { env, ...rest } = over;
  return {
    location: 'eastus',
    osType: 'Linux',
    restartPolicy: 'Never',
    tags: { purpose: 'test' },
    containers: [
      {
        name: 'main',
        image: 'busybox:latest',
        command: ['/bin/sh', '-c', script],
        environmentVariables: env ?? [],
        resources: { requests: { cpu: 1, memoryInGB: 1 } },
      },
    ],
    ...rest,
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until the group's instance view reaches one of the states. */
export async function waitState(client: ContainerInstanceManagementClient, rg: string, name: string, states: string[], timeoutMs = 10_000): Promise<ContainerGroup> {
  return waitFor(async () => {
    const g = await client.containerGroups.get(rg, name);
    return states.includes(g.instanceView?.state ?? '') ? g : undefined;
  }, timeoutMs);
}
