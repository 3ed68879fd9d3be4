/**
 * V8 flags the launchers give acictl (bin/acictl.js's shebang, `npm start`; the benchmarks start
 * controller processes with the same ones). A test keeps the launchers in line with this list.
 *
 * --max-semi-space-size=16: V8 sizes the young generation from the machine's memory (64 MB
 * semi-spaces on a 24 GB machine). The controller allocates fast while it starts 10,000 jobs, so
 * the young generation grows to its maximum and stays resident: ≈ 70 MB of a 325 MB peak. With
 * 16 MB semi-spaces the peak was 252 MB at the same start-up time (BENCHMARKS.md, scale).
 */
export const V8_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
