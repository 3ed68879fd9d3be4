/** Starts the emulator and an adapter on it with a spy policy that sees every request and response. */
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { AciContainerGroups, type AciContainerGroupsOptions } from '../../src/aci/adapter';
import { createCredential } from '../../src/aci/credentials';
import { mapSecretResolver } from '../../src/aci/secrets';
import { startEmulator } from '../../src/emulator';
import { SECRET_VALUES } from './fixtures';

export interface Exchange {
  method: string;
  url: string;
  requestBody?: string;
  status: number;
  responseBody?: string;
}

export type Emulator = Awaited<ReturnType<typeof startEmulator>>;

export function spyPolicy(log: Exchange[]): PipelinePolicy {
  return {
    name: 'acictl-test-spy',
    async sendRequest(req, next) {
      const res = await next(req);
      log.push({
        method: req.method,
        url: req.url,
        requestBody: typeof req.body === 'string' ? req.body : undefined,
        status: res.status,
        responseBody: res.bodyAsText ?? undefined,
      });
      return res;
    },
  };
}

export function makeAdapter(emu: Emulator, instanceId: string, log: Exchange[], extra: Partial<AciContainerGroupsOptions> = {}): AciContainerGroups {
  return new AciContainerGroups({
    subscriptionId: emu.subscriptionId,
    instanceId,
    credential: createCredential({ kind: 'emulator', env: emu.env }),
    endpoint: emu.endpoint,
    ca: emu.ca,
    secrets: mapSecretResolver(SECRET_VALUES),
    callTimeoutMs: 10_000,
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    additionalPolicies: [{ policy: spyPolicy(log), position: 'perCall' }],
    ...extra,
  });
}

export function requestsBetween(log: Exchange[], from: number): Exchange[] {
  return log.slice(from);
}
