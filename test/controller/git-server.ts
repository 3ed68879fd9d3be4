/** The loopback Git server of the tests lives with the benchmarks (bench/lib/git-server.ts), which use it too. */
export * from '../../bench/lib/git-server';
