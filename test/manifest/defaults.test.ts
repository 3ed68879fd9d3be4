import schema from '../../schemas/containerjob.v1.schema.json';
import { resolveJob, SPEC_DEFAULTS, TEMPLATE_DEFAULTS, normalizeLocation } from '../../src/api/defaults';
import type { ContainerJob } from '../../src/api/types';

function minimal(): ContainerJob {
  return {
    apiVersion: 'acictl.dev/v1',
    kind: 'ContainerJob',
    metadata: { name: 'minimal' },
    spec: {
      template: {
        resourceGroup: 'rg',
        location: 'East US',
        containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
      },
    },
  };
}

describe('resolveJob', () => {
  it('applies every default of DESIGN §2', () => {
    const r = resolveJob(minimal());
    expect(r).toEqual({
      name: 'minimal',
      labels: {},
      schedule: null,
      timeZone: 'UTC',
      startTime: null,
      endTime: null,
      suspend: false,
      catchup: false,
      maxCatchupRuns: 10,
      startingDeadlineMs: 300_000,
      concurrencyPolicy: 'Forbid',
      retries: 0,
      retryDelayMs: 60_000,
      retryBackoffFactor: 2,
      retryMaxDelayMs: 600_000,
      timeoutMs: null,
      groupPolicy: 'PerRun',
      failIfExists: true,
      cleanup: { onSuccess: 'Delete', onFailure: 'Keep', ttlAfterFinishedMs: 3_600_000 },
      successfulRunsHistoryLimit: 3,
      failedRunsHistoryLimit: 1,
      dependsOn: [],
      dependsOnPast: false,
      template: {
        subscriptionId: null,
        resourceGroup: 'rg',
        location: 'eastus',
        osType: 'Linux',
        restartPolicy: 'Never',
        priority: 'Regular',
        containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
      },
    });
  });

  it('keeps explicit values, converts durations and times, and honours explicit nulls', () => {
    const job = minimal();
    job.metadata.labels = { team: 'data' };
    Object.assign(job.spec, {
      schedule: '*/30 * * * * *',
      timeZone: 'Europe/Berlin',
      startTime: '2020-12-01T00:00:00Z',
      endTime: '2021-01-01T01:00:00+01:00',
      startingDeadlineSeconds: null,
      retries: 2,
      retryDelay: '1h30m',
      retryBackoff: { factor: 3 },
      timeout: '2h',
      cleanup: { ttlAfterFinished: null },
      groupPolicy: 'Reuse',
    });
    job.spec.template.restartPolicy = 'OnFailure';
    const r = resolveJob(job);
    expect(r.labels).toEqual({ team: 'data' });
    expect(r.schedule).toBe('*/30 * * * * *');
    expect(r.timeZone).toBe('Europe/Berlin');
    expect(r.startTime).toBe(Date.UTC(2020, 11, 1));
    expect(r.endTime).toBe(Date.UTC(2021, 0, 1));
    expect(r.startingDeadlineMs).toBeNull();
    expect(r.retryDelayMs).toBe(5_400_000);
    expect(r.retryBackoffFactor).toBe(3);
    expect(r.retryMaxDelayMs).toBe(600_000);
    expect(r.timeoutMs).toBe(7_200_000);
    expect(r.cleanup).toEqual({ onSuccess: 'Delete', onFailure: 'Keep', ttlAfterFinishedMs: null });
    expect(r.groupPolicy).toBe('Reuse');
    expect(r.template.restartPolicy).toBe('OnFailure');
  });

  it('does not mutate or share its input', () => {
    const job = minimal();
    const before = JSON.stringify(job);
    const r = resolveJob(job);
    r.template.containers[0].image = 'changed';
    r.labels.x = 'y';
    expect(JSON.stringify(job)).toBe(before);
  });

  it('normalises location display names', () => {
    expect(normalizeLocation('East US')).toBe('eastus');
    expect(normalizeLocation('West Europe')).toBe('westeurope');
    expect(normalizeLocation('eastus2')).toBe('eastus2');
    expect(normalizeLocation('  North  Central US ')).toBe('northcentralus');
  });
});

describe('defaults are documented in the schema', () => {
  const defs = schema.$defs as unknown as Record<string, { properties: Record<string, { default?: unknown; description?: string }> }>;
  const spec = defs.ContainerJobSpec.properties;
  const template = defs.GroupTemplate.properties;

  it.each(Object.entries(SPEC_DEFAULTS))('spec.%s', (field, value) => {
    expect(spec[field]).toBeDefined();
    expect(spec[field].default).toEqual(value);
    expect(spec[field].description).toBeTruthy();
  });

  it.each(Object.entries(TEMPLATE_DEFAULTS))('template.%s', (field, value) => {
    expect(template[field].default).toEqual(value);
  });

  it('nested defaults agree with their parent object default', () => {
    const backoff = spec.retryBackoff as unknown as { default: object; properties: Record<string, { default: unknown }> };
    expect(Object.fromEntries(Object.entries(backoff.properties).map(([k, v]) => [k, v.default]))).toEqual(backoff.default);
    const cleanup = spec.cleanup as unknown as { default: object; properties: Record<string, { default: unknown }> };
    expect(Object.fromEntries(Object.entries(cleanup.properties).map(([k, v]) => [k, v.default]))).toEqual(cleanup.default);
  });

  it('every property in the schema has a description', () => {
    const missing: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n.properties && typeof n.properties === 'object') {
        for (const [k, v] of Object.entries(n.properties as Record<string, Record<string, unknown>>)) {
          if (!v.description && !v.$ref) missing.push(`${path}/${k}`);
          walk(v, `${path}/${k}`);
        }
      }
      for (const key of ['items', 'additionalProperties']) if (n[key]) walk(n[key], `${path}/${key}`);
      for (const key of ['oneOf', 'anyOf']) if (Array.isArray(n[key])) (n[key] as unknown[]).forEach((b, i) => walk(b, `${path}/${key}/${i}`));
    };
    walk(schema, '');
    for (const [name, d] of Object.entries(schema.$defs)) walk(d, `/$defs/${name}`);
    expect(missing).toEqual([]);
  });

  it('every object schema forbids unknown fields', () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n.type === 'object' && n.additionalProperties === undefined) open.push(path);
      if (n.properties) for (const [k, v] of Object.entries(n.properties as object)) walk(v, `${path}/${k}`);
      for (const key of ['items', 'additionalProperties']) if (typeof n[key] === 'object') walk(n[key], `${path}/${key}`);
      if (Array.isArray(n.oneOf)) (n.oneOf as unknown[]).forEach((b, i) => walk(b, `${path}/oneOf/${i}`));
    };
    walk(schema, '');
    for (const [name, d] of Object.entries(schema.$defs)) walk(d, `/$defs/${name}`);
    expect(open).toEqual([]);
  });
});

describe('schema limits agree with src/api/names.ts', () => {
  it('metadata.name maxLength is MAX_JOB_NAME', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { MAX_JOB_NAME } = require('../../src/api/names') as { MAX_JOB_NAME: number };
    expect(schema.$defs.ObjectMeta.properties.name.maxLength).toBe(MAX_JOB_NAME);
  });
});
