/** The create guard's decisions with fake PUT/GET (create-guard.ts). */
import { TAG_ATTEMPT, TAG_JOB, TAG_MANAGED_BY, TAG_RUN } from '../../src/api/names';
import type { ObservedGroup } from '../../src/api/observed';
import { guardedCreate, holdsCreate, refusesHeader, type GuardedCreateDeps } from '../../src/aci/create-guard';
import { AciError } from '../../src/aci/types';

const TAGS = { [TAG_MANAGED_BY]: 'ctl', [TAG_JOB]: 'j', [TAG_RUN]: 'j-202601010000', [TAG_ATTEMPT]: '1' };

function group(tags: Record<string, string>): ObservedGroup {
  return { subscriptionId: 's', resourceGroup: 'rg', name: 'j-202601010000', tags, provisioningState: 'Pending' } as ObservedGroup;
}

function fake(script: (AciError | number)[], existing: () => ObservedGroup | null) {
  const calls: string[] = [];
  const deps: GuardedCreateDeps = {
    put: async (withHeader) => {
      calls.push(withHeader ? 'PUT+h' : 'PUT');
      const next = script.shift() ?? 201;
      if (next instanceof AciError) throw next;
      return { status: next, group: group(TAGS) };
    },
    get: async () => {
      calls.push('GET');
      return existing();
    },
    backoff: async () => undefined,
    maxRetries: 3,
    knowledge: { headerRefused: false, headerIgnored: false },
  };
  return { deps, calls };
}

test('holdsCreate: owner, job, run and attempt must all match (attempt defaults to 1)', () => {
  expect(holdsCreate(TAGS, TAGS)).toBe(true);
  const { [TAG_ATTEMPT]: _a, ...noAttempt } = TAGS;
  expect(holdsCreate(TAGS, noAttempt)).toBe(true);
  expect(holdsCreate(TAGS, { ...TAGS, [TAG_ATTEMPT]: '2' })).toBe(false);
  expect(holdsCreate(TAGS, { ...TAGS, [TAG_MANAGED_BY]: 'other' })).toBe(false);
  expect(holdsCreate(TAGS, { ...TAGS, [TAG_RUN]: 'x' })).toBe(false);
});

test('a 429 is re-sent without a look; a 5xx is followed by a GET before the re-send', async () => {
  const throttled = fake([new AciError('Throttled', 'slow down', 'SubscriptionRequestsThrottled', 10, 429)], () => null);
  await guardedCreate(TAGS, throttled.deps);
  expect(throttled.calls).toEqual(['PUT+h', 'PUT+h']);
  const flaky = fake([new AciError('Transient', 'boom', 'InternalServerError', undefined, 500)], () => null);
  await guardedCreate(TAGS, flaky.deps);
  expect(flaky.calls).toEqual(['PUT+h', 'GET', 'PUT+h']);
});

test('a lost response whose PUT went through: the GET finds our group and nothing is re-sent', async () => {
  let created = false;
  const f = fake([new AciError('Transient', 'socket hang up', 'ECONNRESET')], () => (created ? group(TAGS) : null));
  const put = f.deps.put;
  f.deps.put = async (h) => {
    created = true;
    return put(h);
  };
  const g = await guardedCreate(TAGS, f.deps);
  expect(g.tags[TAG_RUN]).toBe(TAGS[TAG_RUN]);
  expect(f.calls).toEqual(['PUT+h', 'GET']);
});

test('mayExist looks first; a foreign group is Conflict and never PUT', async () => {
  const f = fake([], () => group({ owner: 'someone' }));
  await expect(guardedCreate(TAGS, f.deps, { mayExist: true })).rejects.toMatchObject({ kind: 'Conflict' });
  expect(f.calls).toEqual(['GET']);
});

test('a 400 naming the header: switched off, looked up, re-sent without it; non-header 400s are thrown', async () => {
  const f = fake([new AciError('Invalid', "The header 'If-None-Match' is not supported", 'InvalidHeaderValue', undefined, 400)], () => null);
  await guardedCreate(TAGS, f.deps);
  expect(f.calls).toEqual(['PUT+h', 'GET', 'PUT']);
  expect(f.deps.knowledge.headerRefused).toBe(true);
  expect(refusesHeader(new AciError('Invalid', 'bad env var', 'InvalidContainerEnvironmentVariable'))).toBe(false);
  const g = fake([new AciError('Invalid', 'bad env var', 'InvalidContainerEnvironmentVariable', undefined, 400)], () => null);
  await expect(guardedCreate(TAGS, g.deps)).rejects.toMatchObject({ kind: 'Invalid' });
  expect(g.calls).toEqual(['PUT+h']);
});

test('a create answered 200 marks the header ignored: later creates look first', async () => {
  const f = fake([200], () => null);
  await guardedCreate(TAGS, f.deps);
  expect(f.deps.knowledge.headerIgnored).toBe(true);
  await guardedCreate(TAGS, f.deps);
  expect(f.calls).toEqual(['PUT+h', 'GET', 'PUT+h']);
});
