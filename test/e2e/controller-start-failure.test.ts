/**
 * A controller that cannot start (its API port is taken) says why, exits 3, and leaves nothing
 * running behind it (no embedded emulator, no watcher keeping the process alive).
 */
import { cleanupDirs, startControllerProcess, startTestEmulator, tmp, waitUntil } from './harness';

jest.setTimeout(60_000);

test('a port already in use: a clear message, exit 3, and the process ends', async () => {
  const emu = await startTestEmulator();
  const dir = tmp('acictl-portclash-');
  const first = startControllerProcess(emu, { manifests: [dir] });
  try {
    await first.ready();
    const port = new URL(first.url).port;
    const second = startControllerProcess(emu, { manifests: [dir], args: ['--listen', `127.0.0.1:${port}`] });
    const code = await Promise.race([second.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 20_000))]);
    if (code === 'still running') second.kill('SIGKILL');
    expect(code).toBe(3);
    expect(second.stderr).toContain(`127.0.0.1:${port} is already in use`);
    // The first controller is unaffected.
    await waitUntil('the first controller to answer', async () => (await first.api('GET', '/apis/acictl.dev/v1/containerjobs')).status === 200, 5_000, 100);
  } finally {
    await first.stop();
    await emu.close();
    cleanupDirs(dir);
  }
});
