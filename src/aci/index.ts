/**
 * The aci layer: the only importer of the Azure SDK. `createContainerGroups` builds the real
 * adapter (or, with `memory`, the in-memory one); the rest is re-exported for the controller.
 */
import type { TokenCredential } from '@azure/core-auth';
import { AciContainerGroups, type AciContainerGroupsOptions } from './adapter';
import { createCredential, type CreateCredentialOptions } from './credentials';
import { MemoryContainerGroups } from './memory';
import type { ContainerGroups } from './types';

export * from './types';
export { AciContainerGroups, errorFromStatus, retryAfterMs, scrub, type AciContainerGroupsOptions, type AciLogger } from './adapter';
export { MemoryContainerGroups, type MemoryCall, type MemoryContainerGroupsOptions, type MemoryOp, type InjectOptions } from './memory';
export { createCredential, IdentityEndpointCredential, type CreateCredentialOptions, type CredentialKind } from './credentials';
export { envFileSecretSource, prefetchSecrets, secretRefKey, mapSecretResolver, collectSecretRefs, resolveAll, describeSecretRef, type SecretResolver, type SecretSource, type SecretSite } from './secrets';
export { toArmGroup, fromArmGroup, templateFromArm, parseGroupId, OBSERVED_SECRET, isObservedSecret } from './mapping';
export { specHash, secretDigest, SPEC_HASH_LENGTH } from './hash';
export { classifyChange, type ChangeKind, type Classification } from './classify';
export { canonicalTemplate, normalizeLocation, stableStringify } from './canonical';
export { RateLimiter, AZURE_RATE_LIMITS, scaleLimits, backoffDelay, DEFAULT_RETRY, realSleep, type RateLimits, type BucketLimit, type WindowLimit, type CallClass, type RetryPolicy, type Sleep, type Permit } from './rate-limit';

export type CreateContainerGroupsOptions =
  | ({ memory?: false; credential?: TokenCredential; credentialOptions?: Omit<CreateCredentialOptions, 'env'> & { env?: Record<string, string | undefined> } } & Omit<AciContainerGroupsOptions, 'credential'>)
  | ({ memory: true } & ConstructorParameters<typeof MemoryContainerGroups>[0]);

/**
 * The ContainerGroups the controller uses. Real ARM: pass `credential`, or `credentialOptions` to
 * build one (`createCredential`); an emulator target is just another `endpoint` + `ca` with
 * `credentialOptions: {kind: 'emulator', env: emulator.env}`.
 */
export function createContainerGroups(opts: CreateContainerGroupsOptions): ContainerGroups {
  if (opts.memory) return new MemoryContainerGroups(opts);
  const { credential, credentialOptions, ...rest } = opts;
  const cred = credential ?? createCredential({ env: {}, ...(credentialOptions ?? {}) });
  return new AciContainerGroups({ ...rest, credential: cred });
}
