/** Git URLs as they may be shown: never with a password. */

/** `https://user:secret@host/x` → `https://user@host/x` (scp-like and local URLs are left as they are). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@:]*):[^/@]*@/i, '$1$2@');
}

/** `ssh://…` or scp-like `user@host:path`. */
export function isSshUrl(url: string): boolean {
  return /^ssh:\/\//i.test(url) || /^[^/:@]+@[^/:]+:/.test(url);
}
