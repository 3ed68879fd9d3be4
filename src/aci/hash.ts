/**
 * The spec hash written to the `acictl.dev/spec-hash` tag, and the secret digest that lets it
 * change when a secret value rotates without the value ever being stored.
 *
 * specHash = first 20 hex chars of SHA-256 over the stable JSON of
 *   {v: 1, template: canonicalTemplate(template, {maskSecretRefs: true}), secrets: secretDigest|null}
 * - canonical: key order, defaults, set order, location spelling, `cpu: 1` vs `1.0`, resource-id case
 *   and empty-vs-absent do not change it (canonical.ts);
 * - secret references are masked in the template part, so a group read back from ARM (which shows
 *   secret slots but never their source or value) hashes like its manifest;
 * - the secret digest is an HMAC-SHA256, under a key only the controller holds, over every secret
 *   slot's path, its reference (env name / file path) and its resolved value. A rotated value or a
 *   re-pointed reference changes the digest and hence the hash. Because it is keyed, the tag (which
 *   anyone with read access to the group sees) gives no way to test guesses of a low-entropy secret.
 *   The controller keeps the key in its state dir (not in the store) — a lost key only causes one
 *   in-place update per job.
 * 20 hex chars (80 bits) fit an ARM tag value (≤ 256 chars) with room to spare.
 */
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { GroupTemplate } from '../api/types';
import { canonicalTemplate, stableStringify } from './canonical';
import { collectSecretRefs, secretRefKey, type SecretResolver } from './secrets';

export const SPEC_HASH_LENGTH = 20;

export function specHash(template: GroupTemplate, opts: { secretDigest?: string } = {}): string {
  const doc = { v: 1, template: canonicalTemplate(template, { maskSecretRefs: true }), secrets: opts.secretDigest ?? null };
  return createHash('sha256').update(stableStringify(doc)).digest('hex').slice(0, SPEC_HASH_LENGTH);
}

/**
 * Keyed digest of the template's resolved secrets (see the file comment). Throws AciError
 * 'SecretMissing' when a reference cannot be resolved. The returned digest (32 hex chars) reveals
 * nothing about the values without the key.
 */
export function secretDigest(template: GroupTemplate, secrets: SecretResolver, key: Buffer | KeyObject): string {
  const sites = collectSecretRefs(template).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const keyObject = typeof (key as KeyObject).export === 'function' ? (key as KeyObject) : createSecretKey(key as Buffer);
  // Most jobs have no secrets: their digest depends on the key alone, so it is computed once per key.
  if (sites.length === 0) {
    let d = emptyDigests.get(keyObject);
    if (d === undefined) {
      d = createHmac('sha256', keyObject).digest('hex').slice(0, 32);
      emptyDigests.set(keyObject, d);
    }
    return d;
  }
  const h = createHmac('sha256', keyObject);
  for (const s of sites) {
    const value = secrets.resolve(s.ref);
    const source = secretRefKey(s.ref);
    // Length-prefixed fields: no two different inputs share a byte string.
    for (const part of [s.path, source, value]) {
      const b = Buffer.from(part, 'utf8');
      h.update(`${b.length}:`);
      h.update(b);
    }
  }
  return h.digest('hex').slice(0, 32);
}

/** The digest of "no secrets" per key (a KeyObject made once by the caller keeps this a hit). */
const emptyDigests = new WeakMap<KeyObject, string>();
