/** Shared fixtures for the aci tests: a template using every field, and a DesiredGroup around it. */
import type { GroupRef } from '../../src/api/observed';
import { TAG_JOB, TAG_MANAGED_BY, TAG_RUN, TAG_SCHEDULED_TIME, TAG_SPEC_HASH } from '../../src/api/names';
import type { ResolvedJob } from '../../src/api/types';
import type { DesiredGroup } from '../../src/aci/types';

export type Template = ResolvedJob['template'];

export const SECRET_VALUES: Record<string, string> = {
  'env:DB_PASSWORD': 's3cr3t-db-Value-91',
  'env:ACR_PASSWORD': 's3cr3t-acr-Value-27',
  'env:SA_KEY': 's3cr3t-sakey-Value-55',
  'env:LA_KEY': 's3cr3t-lakey-Value-13',
  'file:/run/secrets/tls.key': 's3cr3t-tls-Value-08',
};

export function minimalTemplate(over: Partial<Template> = {}): Template {
  return {
    resourceGroup: 'rg1',
    location: 'eastus',
    osType: 'Linux',
    restartPolicy: 'Never',
    priority: 'Regular',
    containers: [{ name: 'main', image: 'busybox:1', command: ['/bin/sh', '-c', 'echo hi'], resources: { requests: { cpu: 1, memoryInGB: 1.5 } } }],
    ...over,
  };
}

/** A template exercising every field of GroupTemplate. */
export function fullTemplate(): Template {
  const sub = '00000000-0000-0000-0000-000000000000';
  return {
    subscriptionId: null,
    resourceGroup: 'rg1',
    location: 'East US',
    osType: 'Linux',
    restartPolicy: 'OnFailure',
    priority: 'Regular',
    sku: 'Standard',
    zones: ['1'],
    containers: [
      {
        name: 'main',
        image: 'myregistry.azurecr.io/app:1.2',
        command: ['/bin/sh', '-c', 'echo hello'],
        environmentVariables: [
          { name: 'MODE', value: 'nightly' },
          { name: 'DB_PASSWORD', secureValueFrom: { env: 'DB_PASSWORD' } },
        ],
        resources: { requests: { cpu: 1, memoryInGB: 1.5, gpu: { count: 1, sku: 'V100' } }, limits: { cpu: 2, memoryInGB: 3 } },
        ports: [{ port: 80, protocol: 'TCP' }],
        volumeMounts: [
          { name: 'data', mountPath: '/data', readOnly: false },
          { name: 'scratch', mountPath: '/scratch' },
          { name: 'certs', mountPath: '/certs', readOnly: true },
          { name: 'repo', mountPath: '/repo' },
        ],
      },
      {
        name: 'sidecar',
        image: 'busybox:1',
        resources: { requests: { cpu: 0.5, memoryInGB: 0.5 } },
      },
    ],
    initContainers: [
      { name: 'init', image: 'busybox:1', command: ['true'], environmentVariables: [{ name: 'STEP', value: '1' }], volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] },
    ],
    imageRegistryCredentials: [
      { server: 'myregistry.azurecr.io', username: 'puller', passwordFrom: { env: 'ACR_PASSWORD' } },
      { server: 'other.azurecr.io', identity: `/subscriptions/${sub}/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/puller` },
    ],
    volumes: [
      { name: 'data', azureFile: { shareName: 's', storageAccountName: 'a', storageAccountKeyFrom: { env: 'SA_KEY' }, readOnly: false } },
      { name: 'scratch', emptyDir: {} },
      { name: 'certs', secret: { 'tls.key': { file: '/run/secrets/tls.key' } } },
      { name: 'repo', gitRepo: { repository: 'https://github.com/example/repo', directory: '.', revision: 'main' } },
    ],
    ipAddress: { type: 'Public', ports: [{ port: 80, protocol: 'TCP' }], dnsNameLabel: 'acictl-full' },
    dnsConfig: { nameServers: ['10.0.0.10'], searchDomains: 'example.internal', options: 'ndots:2' },
    diagnostics: { logAnalytics: { workspaceId: 'w-123', workspaceKeyFrom: { env: 'LA_KEY' }, logType: 'ContainerInstanceLogs' } },
    identity: {
      type: 'UserAssigned',
      userAssignedIdentities: [`/subscriptions/${sub}/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x`],
    },
    tags: { 'cost-center': '42' },
  };
}

export function ownershipTags(instanceId: string, job = 'job1', run = 'job1-202611240200'): Record<string, string> {
  return {
    [TAG_MANAGED_BY]: instanceId,
    [TAG_JOB]: job,
    [TAG_RUN]: run,
    [TAG_SCHEDULED_TIME]: '2026-11-24T02:00:00.000Z',
    [TAG_SPEC_HASH]: 'placeholder',
  };
}

export function desiredGroup(ref: GroupRef, template: Template, instanceId: string, extraTags: Record<string, string> = {}): DesiredGroup {
  return {
    ref,
    location: template.location,
    template,
    tags: { ...ownershipTags(instanceId, 'job1', ref.name), ...extraTags },
    runEnv: { ACICTL_JOB: 'job1', ACICTL_RUN_ID: ref.name, ACICTL_ATTEMPT: '1' },
  };
}
