import { compileSchedule } from '../../src/schedule';
test('perf', () => {
  for (const [e, tz] of [['*/15 * * * *','Europe/Berlin'],['0 2 * * *','America/New_York'],['@daily','UTC'],['@yearly','Europe/Berlin'],['*/10 * * * * *','UTC'],['0 9 * * 1-5','Asia/Tokyo']]) {
    const s = compileSchedule(e, { timeZone: tz });
    const base = Date.parse('2026-01-01T00:00:00Z');
    s.next(base);
    const N = 50000; const st = performance.now(); let acc = 0;
    for (let i = 0; i < N; i++) acc += s.next(base + i * 637_000)!;
    const ms = performance.now() - st;
    const st2 = performance.now();
    for (let i = 0; i < N; i++) acc += s.latest(base + i * 637_000)!;
    const ms2 = performance.now() - st2;
    console.log(e, tz, Math.round(N / ms * 1000), 'next/s', Math.round(N / ms2 * 1000), 'latest/s', acc > 0);
  }
});
