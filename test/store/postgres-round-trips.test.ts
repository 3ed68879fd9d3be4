/**
 * Round trips per write transaction on the PostgreSQL store. Write transactions are serialized
 * (one process: the store's gate; several: the advisory lock), so each round trip inside one is
 * paid once per write by everything else waiting to write: on a busy controller (the schedule-lag
 * bench, 1,000 runs due at once) a round trip costs about a millisecond. These tests count the
 * queries a write sends to the server, and check that the literals those batched queries carry
 * (sqlText) reach the server unchanged.
 */
import type { PoolClient } from 'pg';
import { FencedError, PostgresStore, sqlText, withFence } from '../../src/store/postgres';
import { postgresForFile } from '../fixtures/postgres-suite';
import { jobInput, runRecord } from './contract';

jest.setTimeout(60_000);
const { maybe, server } = postgresForFile('PostgreSQL round-trip tests');

let n = 0;

/**
 * Records every query the store's pool clients send (each one is one round trip), with the
 * client that sent it: the change feed reads through the same pool (after a NOTIFY), on another client.
 */
function countQueries(store: PostgresStore): { sent: { client: PoolClient; text: string }[]; ofTransaction(): string[] } {
  const out = {
    sent: [] as { client: PoolClient; text: string }[],
    /** The queries of the first transaction: its client's, from its BEGIN to its COMMIT. */
    ofTransaction: () => {
      const begin = out.sent.find((q) => q.text.startsWith('BEGIN'));
      const mine = out.sent.filter((q) => q.client === begin?.client).map((q) => q.text);
      const end = mine.findIndex((t) => /COMMIT$/.test(t));
      return mine.slice(mine.findIndex((t) => t.startsWith('BEGIN')), end + 1);
    },
  };
  const wrapped = new WeakSet<PoolClient>();
  store.db.on('acquire', (client: PoolClient) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query.bind(client) as (...a: unknown[]) => unknown;
    (client as unknown as { query: (...a: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string })?.text);
      out.sent.push({ client, text });
      return query(...args);
    };
  });
  return out;
}

maybe('PostgresStore round trips', () => {
  test('sqlText: quotes, backslashes, unicode and E-string escapes reach the server unchanged, whatever standard_conforming_strings says', async () => {
    const store = await PostgresStore.open(server().createDatabase(`lit${n++}`));
    const samples = ["it's", "''", '\\', '\\n is not a newline', "\\'; DROP TABLE jobs; --", 'tab\there\nnew line', 'ünïcødé ✓ 🚀', '{"a":"b\\"c"}', "E'x'", '$$dollar$$', ''];
    try {
      for (const conforming of ['on', 'off']) {
        const c = await store.db.connect();
        try {
          await c.query(`SET standard_conforming_strings = ${conforming}`);
          for (const s of samples) {
            const { rows } = await c.query(`SELECT ${sqlText(s)} AS v`);
            expect(rows[0].v).toBe(s);
          }
        } finally {
          await c.query('RESET standard_conforming_strings');
          c.release();
        }
      }
      // and through a write and a read back, as the change feed of another process sees it
      await store.putJob({ ...jobInput("q'uo\\te"), labels: { note: "a'b\\c" } });
      expect((await store.getJob("q'uo\\te"))?.labels.note).toBe("a'b\\c");
    } finally {
      await store.close();
    }
  });

  test('a write transaction begins in one round trip and commits in one (changes, resourceVersion and NOTIFY with the COMMIT)', async () => {
    const store = await PostgresStore.open(server().createDatabase(`rt${n++}`));
    try {
      await store.putJob(jobInput('a')); // warm the pool
      const q = countQueries(store);
      q.sent.length = 0;
      await store.putRun(runRecord('a', 1));
      // BEGIN…, the INSERT, UPDATE meta…COMMIT
      const sent = q.ofTransaction();
      expect(sent).toHaveLength(3);
      expect(sent[0]).toMatch(/^BEGIN; SELECT pg_advisory_xact_lock/);
      expect(sent[2]).toMatch(/INSERT INTO changes .*; SELECT pg_notify\(.*\); COMMIT$/s);
      expect(await store.getRun('a-1')).toBeDefined();
      expect(await store.currentResourceVersion()).toBe(2);
    } finally {
      await store.close();
    }
  });

  test('writes whose result nobody needs go with the next query or the COMMIT; a row read or written in the transaction is not read again', async () => {
    const store = await PostgresStore.open(server().createDatabase(`rt${n++}`));
    try {
      await store.putJob(jobInput('a'));
      await store.putRun(runRecord('a', 1));
      const q = countQueries(store);
      q.sent.length = 0;
      // a reconcile's stretch: read the scheduler state and the run, write both, add an event, read them again
      const seen = await store.transaction(async () => {
        const before = await store.getSchedulerState('a');
        const run = await store.getRun('a-1');
        await store.putSchedulerState('a', { lastScheduleTime: 1000 } as never);
        await store.putRun({ ...run!, phase: 'Running' });
        await store.addEvent({ time: new Date(0).toISOString(), job: 'a', run: 'a-1', type: 'Normal', reason: 'Created', message: "it's \\ here" });
        await store.putLog('a-1', 1, 'main', 'line 1\n');
        const after = await store.getSchedulerState('a');
        const again = await store.getRun('a-1');
        return { before, after, phase: again?.phase };
      });
      expect(seen).toEqual({ before: undefined, after: { lastScheduleTime: 1000 }, phase: 'Running' });
      // BEGIN…SELECT state (the opening statements go with the first query); SELECT record; the four writes with the change row and COMMIT
      const sent = q.ofTransaction();
      expect(sent).toHaveLength(3);
      expect(sent[0]).toMatch(/^BEGIN; SELECT pg_advisory_xact_lock\(\d+\); SELECT value FROM meta .*; SELECT state FROM scheduler_state/);
      expect(sent[2]).toMatch(/^INSERT INTO scheduler_state .*INSERT INTO runs .*INSERT INTO events .*DELETE FROM events .*INSERT INTO logs .*COMMIT$/s);
      // all of it committed, the run as MODIFIED (it existed), the event text intact
      expect((await store.getSchedulerState('a')) as unknown).toEqual({ lastScheduleTime: 1000 });
      expect((await store.getRun('a-1'))?.phase).toBe('Running');
      expect((await store.listEvents('a')).map((e) => e.message)).toEqual(["it's \\ here"]);
      expect(await store.getLog('a-1', 1)).toEqual([{ container: 'main', content: 'line 1\n' }]);
      expect(await store.currentResourceVersion()).toBe(3);
    } finally {
      await store.close();
    }
  });

  test('a transaction of writes that return nothing is one round trip; a fenced one is still refused by the database', async () => {
    const store = await PostgresStore.open(server().createDatabase(`rt${n++}`));
    try {
      await store.putJob(jobInput('a'));
      const q = countQueries(store);
      q.sent.length = 0;
      await store.putSchedulerState('a', { lastScheduleTime: 7 } as never);
      const sent = q.ofTransaction();
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatch(/^BEGIN; .*INSERT INTO scheduler_state .*; COMMIT$/s);
      expect((await store.getSchedulerState('a')) as unknown).toEqual({ lastScheduleTime: 7 });
      // no lease row: every token is stale, and the write that went in the same round trip is not kept
      await expect(withFence(1, () => store.putSchedulerState('a', { lastScheduleTime: 8 } as never))).rejects.toThrow(FencedError);
      expect((await store.getSchedulerState('a')) as unknown).toEqual({ lastScheduleTime: 7 });
      // a transaction that sends nothing costs nothing
      q.sent.length = 0;
      await store.transaction(async () => undefined);
      expect(q.sent.filter((x) => x.text.startsWith('BEGIN'))).toHaveLength(0);
    } finally {
      await store.close();
    }
  });

  test('a failing deferred write fails the transaction, and none of it is kept', async () => {
    const store = await PostgresStore.open(server().createDatabase(`rt${n++}`));
    try {
      await store.putJob(jobInput('a'));
      await expect(
        store.transaction(async () => {
          await store.putSchedulerState('a', { lastScheduleTime: 5 } as never);
          await store.putLog('a-1', 1, 'main', 'bad \u0000 byte'); // PostgreSQL text cannot hold NUL
        }),
      ).rejects.toThrow();
      expect(await store.getSchedulerState('a')).toBeUndefined();
      expect(await store.getLog('a-1', 1)).toEqual([]);
      await store.putSchedulerState('a', { lastScheduleTime: 6 } as never); // the store goes on
      expect((await store.getSchedulerState('a')) as unknown).toEqual({ lastScheduleTime: 6 });
    } finally {
      await store.close();
    }
  });
});
