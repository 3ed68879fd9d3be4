/**
 * Secret references (`secureValueFrom`, `passwordFrom`, `…KeyFrom`, secret volumes) are resolved at
 * call time, never earlier and never stored. A resolver throws AciError 'SecretMissing' naming the
 * environment variable or file that is missing — never a value.
 */
import * as fs from 'node:fs';
import type { GroupTemplate, SecretRef } from '../api/types';
import { AciError } from './types';

export interface SecretResolver {
  /** The secret's value. Throws AciError('SecretMissing') when the variable/file is absent or unreadable. */
  resolve(ref: SecretRef): string;
}

/** A human description of a reference, safe for messages (it names the source, not the value). */
export function describeSecretRef(ref: SecretRef): string {
  return 'env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
}

/**
 * Resolves `{env}` from the given environment (the controller passes its own; cli/ is the only
 * reader of process.env) and `{file}` from the file system. A file's trailing newline is kept
 * as-is: the value is the file's content.
 */
export function envFileSecretResolver(
  env: Record<string, string | undefined>,
  readFile: (path: string, encoding: 'utf8') => string = (p, e) => fs.readFileSync(p, e),
): SecretResolver {
  return {
    resolve(ref: SecretRef): string {
      if ('env' in ref) {
        const v = env[ref.env];
        if (v === undefined) throw new AciError('SecretMissing', `secret ${describeSecretRef(ref)} is not set`, 'SecretMissing');
        return v;
      }
      try {
        return readFile(ref.file, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException)?.code ?? 'unreadable';
        throw new AciError('SecretMissing', `secret ${describeSecretRef(ref)} cannot be read (${code})`, 'SecretMissing');
      }
    },
  };
}

/** A resolver over a fixed map, for tests and the in-memory provider: keys are `env:NAME` or `file:PATH`. */
export function mapSecretResolver(values: Record<string, string>): SecretResolver {
  return {
    resolve(ref: SecretRef): string {
      const key = 'env' in ref ? `env:${ref.env}` : `file:${ref.file}`;
      const v = values[key];
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
