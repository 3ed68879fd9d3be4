import { errorFromStatus, retryAfterMs, scrub } from '../../src/aci/adapter';

describe('ARM error mapping', () => {
  test.each([
    [404, 'ResourceNotFound', 'NotFound'],
    [409, 'Conflict', 'Conflict'],
    [412, 'PreconditionFailed', 'Conflict'],
    [400, 'InvalidContainerGroupUpdate', 'Invalid'],
    [400, 'InaccessibleImage', 'Invalid'],
    [400, 'ContainerGroupQuotaReached', 'Quota'],
    [409, 'ContainerGroupQuotaReached', 'Conflict'],
    [429, 'SubscriptionRequestsThrottled', 'Throttled'],
    [401, 'InvalidAuthenticationToken', 'Unauthorized'],
    [403, 'AuthorizationFailed', 'Forbidden'],
    [500, 'InternalServerError', 'Transient'],
    [503, 'ServiceUnavailable', 'Transient'],
    [408, 'RequestTimeout', 'Transient'],
  ])('%i %s → %s', (status, code, kind) => {
    const e = errorFromStatus(status, code, 'm', status === 429 ? 1500 : undefined);
    expect(e.kind).toBe(kind);
    expect(e.code).toBe(code);
    expect(e.statusCode).toBe(status);
    if (status === 429) expect(e.retryAfterMs).toBe(1500);
  });

  test('Retry-After: ms headers first, then seconds, then an HTTP date', () => {
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }, 0)).toBe(250);
    expect(retryAfterMs({ 'x-ms-retry-after-ms': '40' }, 0)).toBe(40);
    expect(retryAfterMs({ 'retry-after': '3' }, 0)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 4000)).toBe(6000);
    expect(retryAfterMs({}, 0)).toBeUndefined();
    const h = new Map([['retry-after', '2']]);
    expect(retryAfterMs({ get: (n: string) => h.get(n) }, 0)).toBe(2000);
  });

  test('scrub removes every secret value and bounds the length', () => {
    expect(scrub('bad body {"secureValue":"hunter22"} and hunter22 again', ['hunter22', 'ab'])).toBe('bad body {"secureValue":"***"} and *** again');
    expect(scrub('x'.repeat(2000), []).length).toBeLessThan(700);
  });
});
