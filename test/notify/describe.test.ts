/** `acictl describe job`: the job's notification targets (secret references, never values) and what is undelivered. */
import { describeJob } from '../../src/cli/commands/describe';
import type { JobObject } from '../../src/cli/client/resources';

test('describe lists the targets with their events and the undelivered notifications', () => {
  const job = {
    apiVersion: 'acictl.dev/v1',
    kind: 'ContainerJob',
    metadata: { name: 'etl', creationTimestamp: '2026-01-10T00:00:00Z' },
    spec: {
      schedule: '@daily',
      notify: [
        { name: 'ops', on: ['failure', 'retry'], webhook: { url: 'https://hooks.example.com/x', secretFrom: { env: 'ACICTL_SECRET_HOOK' } } },
        { email: { host: 'smtp.example.com', from: 'a@example.com', to: ['oncall@example.com'] } },
      ],
      template: { resourceGroup: 'rg', location: 'eastus', containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 1, memoryInGB: 1 } } }] },
    },
    status: {},
  } as unknown as JobObject;
  const out = describeJob(job, [], [], Date.parse('2026-01-10T03:00:00Z'), [
    { id: 'etl/etl-202601100200/1/failure/ops', event: 'failure', target: 'ops', state: 'Pending', attempts: 3, createdAt: '2026-01-10T02:00:05Z', nextAttemptAt: '2026-01-10T02:01:05Z', lastError: 'HTTP 503' },
    { id: 'etl/etl-202601090200/1/failure/email-1', event: 'failure', target: 'email-1', state: 'Failed', attempts: 11, createdAt: '2026-01-09T02:00:05Z', nextAttemptAt: '2026-01-09T03:00:05Z', lastError: 'ECONNREFUSED smtp.example.com:587', finishedAt: '2026-01-09T03:00:05Z' },
  ]);
  expect(out).toMatch(/Notifications:\n\s+ops:\s+failure, retry → https:\/\/hooks\.example\.com\/x \(key <secret from env ACICTL_SECRET_HOOK>\)/);
  expect(out).toMatch(/email-1:\s+failure, missed, recovery, invalid → oncall@example\.com via smtp\.example\.com/);
  expect(out).toMatch(/Undelivered:\s+1 pending, 1 given up/);
  expect(out).toContain('Pending etl/etl-202601100200/1/failure/ops (3 attempt(s), last: HTTP 503)');
  expect(out).toContain('Failed etl/etl-202601090200/1/failure/email-1 (11 attempt(s)');
});
