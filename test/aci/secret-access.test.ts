/**
 * SecretAccess + envFileSecretSource (issue 19): the operator's allowed sources, checked again at
 * read time (a symlink swapped in after validation is refused, its target never opened).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, promises as fsp, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SecretAccess } from '../../src/aci/secret-access';
import { envFileSecretSource } from '../../src/aci/secrets';
import { AciError } from '../../src/aci/types';

let root: string;
let dir: string;
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'acictl-secret-access-'));
  dir = path.join(root, 'secrets');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'a'), 'A');
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'sub', 'b'), 'B');
  mkdirSync(path.join(root, 'state'));
  writeFileSync(path.join(root, 'state', 'token'), 'tok');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('env: the default prefix, an explicit list, and the never-nameable set whatever the flags', () => {
  const def = new SecretAccess();
  expect(def.check({ env: 'ACICTL_SECRET_X' })).toBeNull();
  expect(def.check({ env: 'DB_PASSWORD' })).toMatch(/not an allowed secret source \(the operator allows ACICTL_SECRET_\*/);
  const list = new SecretAccess({ envNames: ['DB_PASSWORD'] });
  expect(list.check({ env: 'DB_PASSWORD' })).toBeNull();
  expect(list.check({ env: 'ACICTL_SECRET_X' })).not.toBeNull(); // an explicit list replaces the default prefix
  const wide = new SecretAccess({ envPrefixes: ['', 'AZURE_'], envNames: ['AZURE_CLIENT_SECRET', 'ACICTL_TOKEN'] });
  for (const n of ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PASSWORD', 'ACICTL_TOKEN', 'IDENTITY_HEADER', 'MSI_SECRET']) {
    expect(wide.check({ env: n })).toMatch(/controller's own credentials/);
  }
  expect(wide.check({ env: 'ANYTHING' })).toBeNull();
});

test('file: only inside a declared dir, no "..", no symlink out, never the forbidden paths', () => {
  symlinkSync('/etc/passwd', path.join(dir, 'to-passwd'));
  symlinkSync(path.join(dir, 'a'), path.join(dir, 'inner-link'));
  const none = new SecretAccess();
  expect(none.checkWithPath({ file: path.join(dir, 'a') })).toMatch(/none is declared/);
  const acc = new SecretAccess({ secretsDirs: [dir], forbiddenPaths: [path.join(dir, 'sub')] });
  expect(acc.checkWithPath({ file: 'a' })).toBeNull();
  expect(acc.checkWithPath({ file: path.join(dir, 'a') })).toBeNull();
  expect(acc.checkWithPath({ file: 'inner-link' })).toBeNull(); // a link that stays inside is fine
  expect(acc.checkWithPath({ file: 'sub/../a' })).toMatch(/may not contain '\.\.'/);
  expect(acc.checkWithPath({ file: '/etc/passwd' })).toMatch(/outside the operator's secret directories/);
  expect(acc.checkWithPath({ file: 'to-passwd' })).toMatch(/leads out of its secret directory/);
  expect(acc.checkWithPath({ file: 'sub/b' })).toMatch(/one of the controller's own secrets/);
  expect(acc.checkWithPath({ file: 'not-there' })).toBeNull(); // missing: a run-time SecretMissing, not a refusal
  expect(new SecretAccess({ secretsDirs: [dir], env: { AZURE_FEDERATED_TOKEN_FILE: path.join(dir, 'a') } }).checkWithPath({ file: 'a' })).toMatch(/controller's own secrets/);
});

test('read time: a symlink swapped in after validation is refused, its target (a FIFO) never opened', async () => {
  const fifo = path.join(root, 'trap');
  execFileSync('mkfifo', [fifo]);
  let opened = false;
  const writer = fsp.open(fifo, 'w').then(async (h) => {
    opened = true;
    await h.close();
  });
  const acc = new SecretAccess({ secretsDirs: [dir] });
  const src = envFileSecretSource({ ACICTL_SECRET_V: 'v', HOME: '/root' }, { access: acc });
  writeFileSync(path.join(dir, 'swapped'), 'fine');
  expect(acc.checkWithPath({ file: 'swapped' })).toBeNull();
  unlinkSync(path.join(dir, 'swapped'));
  symlinkSync(fifo, path.join(dir, 'swapped'));
  const e = await src.read({ file: 'swapped' }).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(AciError);
  expect((e as AciError).code).toBe('SecretRefused');
  expect((e as AciError).message).toMatch(/leads out of its secret directory/);
  await expect(src.read({ env: 'HOME' })).rejects.toThrow(/SecretRefused: environment variable HOME is not an allowed secret source/);
  await expect(src.read({ env: 'ACICTL_SECRET_V' })).resolves.toBe('v');
  await new Promise((r) => setTimeout(r, 100));
  expect(opened).toBe(false);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  await writer;
  closeSync(reader);
});
