/**
 * Secret references (`secureValueFrom`, `passwordFrom`, `…KeyFrom`, secret volumes) are resolved at
 * call time, never earlier and never stored. A resolver throws AciError 'SecretMissing' naming the
 * environment variable or file that is missing — never a value.
 */
import type { GroupTemplate, KeyVaultRef, SecretRef } from '../api/types';
import { AciError } from './types';
import { SecretAccess } from './secret-access';
import { readSecretFile, type SecretFileLimits } from './secret-file';

/** A synchronous lookup of already-read values (prefetchSecrets, mapSecretResolver). */
export interface SecretResolver {
  /** The secret's value. Throws AciError('SecretMissing') when the variable/file is absent or unreadable. */
  resolve(ref: SecretRef): string;
}

/** A human description of a reference, safe for messages (it names the source, not the value). */
export function describeSecretRef(ref: SecretRef): string {
  if ('keyVault' in ref) return `key vault secret ${ref.keyVault.vault}/${ref.keyVault.secret}${ref.keyVault.version ? `/${ref.keyVault.version}` : ''}`;
  return 'env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
}

/** An asynchronous secret source (files, Key Vault): what the controller resolves through. */
export interface SecretSource {
  /** The secret's value. Rejects with AciError('SecretMissing', code SecretMissing | SecretUnreadable | SecretRefused). */
  read(ref: SecretRef): Promise<string>;
}

/** A stable key of a reference (the same source → the same key). */
export function secretRefKey(ref: SecretRef): string {
  if ('keyVault' in ref) return `kv:${ref.keyVault.vault}/${ref.keyVault.secret}/${ref.keyVault.version ?? ''}`;
  return 'env' in ref ? `env:${ref.env}` : `file:${ref.file}`;
}

/**
 * Resolves `{env}` from the given environment (the controller passes its own; cli/ is the only
 * reader of process.env) and `{file}` from the file system — only the sources `access` allows
 * (secret-access.ts), files through the bounded, non-blocking reader (secret-file.ts). A file's
 * trailing newline is kept as-is: the value is the file's content.
 */
export function envFileSecretSource(
  env: Record<string, string | undefined>,
  opts: { access?: SecretAccess; limits?: SecretFileLimits; keyVault?: (ref: KeyVaultRef) => Promise<string> } = {},
): SecretSource {
  const access = opts.access ?? new SecretAccess();
  return {
    async read(ref: SecretRef): Promise<string> {
      const rule = access.check(ref);
      if (rule) throw new AciError('SecretMissing', `SecretRefused: ${rule}`, 'SecretRefused');
      if ('env' in ref) {
        const v = env[ref.env];
        if (v === undefined) throw new AciError('SecretMissing', `secret ${describeSecretRef(ref)} is not set`, 'SecretMissing');
        return v;
      }
      if ('keyVault' in ref) {
        if (!opts.keyVault) throw new AciError('SecretMissing', `SecretRefused: key vault ${ref.keyVault.vault} is not allowed`, 'SecretRefused');
        return opts.keyVault(ref.keyVault);
      }
      const real = await access.locate(ref.file);
      return readSecretFile(real, describeSecretRef(ref), opts.limits);
    },
  };
}

/**
 * Reads every distinct reference of a template once (concurrently) and returns a synchronous
 * resolver over the values, for the mapping and the digest. A reference that failed throws its
 * error when it is looked up, so the first one in template order is the one reported.
 */
export async function prefetchSecrets(t: GroupTemplate, source: SecretSource | SecretResolver): Promise<SecretResolver> {
  if (!('read' in source)) return source;
  const refs = new Map<string, SecretRef>();
  for (const s of collectSecretRefs(t)) refs.set(secretRefKey(s.ref), s.ref);
  const got = new Map<string, { value: string } | { error: unknown }>();
  await Promise.all(
    [...refs].map(async ([k, ref]) => {
      try {
        got.set(k, { value: await source.read(ref) });
      } catch (error) {
        got.set(k, { error });
      }
    }),
  );
  return {
    resolve(ref: SecretRef): string {
      const r = got.get(secretRefKey(ref));
      if (!r) throw new AciError('SecretMissing', `secret ${describeSecretRef(ref)} was not prefetched`, 'SecretMissing');
      if ('error' in r) throw r.error;
      return r.value;
    },
  };
}

/** A resolver over a fixed map, for tests and the in-memory provider: keys are `env:NAME` or `file:PATH`. */
export function mapSecretResolver(values: Record<string, string>): SecretResolver {
  return {
    resolve(ref: SecretRef): string {
      const v = values[secretRefKey(ref)];
      if (v === undefined) throw new AciError('SecretMissing', `secret ${describeSecretRef(ref)} is not set`, 'SecretMissing');
      return v;
    },
  };
}

/** Where a secret reference sits in a template (a JSON-pointer-ish path) and the reference itself. */
export interface SecretSite {
  path: string;
  ref: SecretRef;
}

/** Every secret reference of a template, in a stable order (the order of the template). */
export function collectSecretRefs(t: GroupTemplate): SecretSite[] {
  const out: SecretSite[] = [];
  const envs = (kind: string, list: { name: string; environmentVariables?: { name: string; secureValueFrom?: SecretRef }[] }[] | undefined) => {
    for (const c of list ?? []) {
      for (const e of c.environmentVariables ?? []) {
        if (e.secureValueFrom) out.push({ path: `/${kind}/${c.name}/environmentVariables/${e.name}`, ref: e.secureValueFrom });
      }
    }
  };
  envs('initContainers', t.initContainers);
  envs('containers', t.containers);
  for (const r of t.imageRegistryCredentials ?? []) {
    if (r.passwordFrom) out.push({ path: `/imageRegistryCredentials/${r.server}/password`, ref: r.passwordFrom });
  }
  for (const v of t.volumes ?? []) {
    if (v.azureFile?.storageAccountKeyFrom) out.push({ path: `/volumes/${v.name}/azureFile/storageAccountKey`, ref: v.azureFile.storageAccountKeyFrom });
    for (const file of Object.keys(v.secret ?? {}).sort()) out.push({ path: `/volumes/${v.name}/secret/${file}`, ref: v.secret![file] });
  }
  if (t.diagnostics?.logAnalytics?.workspaceKeyFrom) {
    out.push({ path: '/diagnostics/logAnalytics/workspaceKey', ref: t.diagnostics.logAnalytics.workspaceKeyFrom });
  }
  return out;
}

/** Resolve every reference of a template (fails on the first missing one, naming it). */
export function resolveAll(t: GroupTemplate, secrets: SecretResolver): Map<string, string> {
  const values = new Map<string, string>();
  for (const s of collectSecretRefs(t)) values.set(s.path, secrets.resolve(s.ref));
  return values;
}
