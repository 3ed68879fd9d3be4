/**
 * Facts from Microsoft's published Microsoft.ContainerInstance examples (stable 2021-10-01,
 * 2022-09-01, 2023-05-01), written here as requests and expectations — not copies of the example
 * files. Each entry names the example it follows.
 *
 * - ContainerGroupsCreateOrUpdate (2021-10-01): PUT body {location: "west us", properties:
 *   {containers: [{name, properties: {command, environmentVariables, image, ports, resources:
 *   {requests: {cpu, memoryInGB}}, volumeMounts}}], diagnostics.logAnalytics {workspaceId,
 *   workspaceKey, …}, imageRegistryCredentials, ipAddress {ports, type: Public, dnsNameLabel},
 *   osType: Linux, volumes: [azureFile {shareName, storageAccountName, storageAccountKey},
 *   emptyDir {}, secret {k: base64}]}}; responses 200 and 201 with the group: location "WestUs",
 *   logAnalytics echoed with workspaceId and no workspaceKey, azureFile without storageAccountKey,
 *   secret volume echoed as {}, ipAddress gains ip and fqdn, provisioningState.
 * - ContainerGroupsGet_Succeeded / ContainerGroupsGet_Failed (2021-10-01): 200; the failed one has
 *   provisioningState Failed, group instanceView {state: Pending, events: [FailedMount]}, the
 *   container's instanceView {restartCount: 0, currentState: {state: Waiting, startTime,
 *   detailStatus: ""}, events: [Pulling, Pulled]} (events carry count, firstTimestamp,
 *   lastTimestamp, message, name, type).
 * - ContainerGroupsList (2023-05-01): 200 {value: [group]}, each container with its instanceView
 *   (restartCount, currentState, events), no group instanceView.
 * - ContainerGroupsListByResourceGroup (2022-09-01): 200 {value: [group]} without instance views.
 * - ContainerGroupsUpdate (2022-09-01): PATCH {tags} → 200 with the whole group and the new tags.
 * - ContainerGroupsDelete (2022-09-01): 200 with the group, 202, or 204.
 * - ContainerGroupsStart (2022-09-01): 202 or 204. ContainerGroupsStop (2023-05-01): 204.
 *   ContainerGroupsRestart (2021-10-01): 204.
 * - ContainerListLogs (2021-10-01): GET …/containers/{c}/logs?tail=10 → 200 {content: string}.
 * - Long-running operations (the specification's x-ms-long-running-operation-options for PUT,
 *   DELETE, start, restart: final-state-via azure-async-operation): an `Azure-AsyncOperation` header.
 */

export const API_VERSIONS = ['2021-10-01', '2022-09-01', '2023-05-01'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

/** The create body of the CreateOrUpdate example, with the parts the emulator can run (no GPU, subnet or identity). */
export function createBody(image = 'nginx'): Record<string, unknown> {
  return {
    location: 'west us',
    properties: {
      containers: [
        {
          name: 'demo1',
          properties: {
            command: [],
            environmentVariables: [],
            image,
            ports: [{ port: 80 }],
            resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
            volumeMounts: [
              { name: 'volume1', mountPath: '/mnt/volume1', readOnly: false },
              { name: 'volume2', mountPath: '/mnt/volume2', readOnly: false },
              { name: 'volume3', mountPath: '/mnt/volume3', readOnly: true },
            ],
          },
        },
      ],
      diagnostics: { logAnalytics: { workspaceId: 'workspaceid', workspaceKey: 'conformance-workspace-key' } },
      imageRegistryCredentials: [],
      ipAddress: { ports: [{ protocol: 'TCP', port: 80 }], type: 'Public', dnsNameLabel: 'dnsnamelabel1' },
      osType: 'Linux',
      volumes: [
        { name: 'volume1', azureFile: { shareName: 'shareName', storageAccountName: 'accountName', storageAccountKey: 'conformance-account-key' } },
        { name: 'volume2', emptyDir: {} },
        { name: 'volume3', secret: { secretKey1: 'U2VjcmV0VmFsdWUx', secretKey2: 'U2VjcmV0VmFsdWUy' } },
      ],
    },
  };
}

/** The secret values of `createBody`: none may appear in any response. */
export const SECRETS = ['conformance-workspace-key', 'conformance-account-key', 'U2VjcmV0VmFsdWUx', 'U2VjcmV0VmFsdWUy'];

export const EVENT_FIELDS = ['count', 'firstTimestamp', 'lastTimestamp', 'message', 'name', 'type'];

/** Status codes each example allows. */
export const STATUS = {
  createNew: [201],
  createExisting: [200],
  get: [200],
  list: [200],
  patch: [200],
  delete: [200, 202, 204],
  start: [202, 204],
  stop: [204],
  restart: [204],
  logs: [200],
} as const;

/**
 * The published operations (2023-05-01; the same paths in 2021-10-01 and 2022-09-01), for checking
 * what our adapter sends: method, path, query parameters, and for PUT the required body fields.
 */
const SUB = '/subscriptions/[^/]+';
const GROUP = `${SUB}/resourceGroups/[^/]+/providers/Microsoft\\.ContainerInstance/containerGroups`;
export const OPERATIONS: { id: string; method: string; path: RegExp; query: string[]; headers?: string[] }[] = [
  { id: 'ContainerGroups_List', method: 'GET', path: new RegExp(`^${SUB}/providers/Microsoft\\.ContainerInstance/containerGroups$`), query: ['api-version', '$skipToken'] },
  { id: 'ContainerGroups_ListByResourceGroup', method: 'GET', path: new RegExp(`^${GROUP}$`), query: ['api-version', '$skipToken'] },
  { id: 'ContainerGroups_Get', method: 'GET', path: new RegExp(`^${GROUP}/[^/]+$`), query: ['api-version'] },
  { id: 'ContainerGroups_CreateOrUpdate', method: 'PUT', path: new RegExp(`^${GROUP}/[^/]+$`), query: ['api-version'] },
  { id: 'ContainerGroups_Update', method: 'PATCH', path: new RegExp(`^${GROUP}/[^/]+$`), query: ['api-version'] },
  { id: 'ContainerGroups_Delete', method: 'DELETE', path: new RegExp(`^${GROUP}/[^/]+$`), query: ['api-version'] },
  { id: 'ContainerGroups_Start', method: 'POST', path: new RegExp(`^${GROUP}/[^/]+/start$`), query: ['api-version'] },
  { id: 'ContainerGroups_Stop', method: 'POST', path: new RegExp(`^${GROUP}/[^/]+/stop$`), query: ['api-version'] },
  { id: 'ContainerGroups_Restart', method: 'POST', path: new RegExp(`^${GROUP}/[^/]+/restart$`), query: ['api-version'] },
  { id: 'Containers_ListLogs', method: 'GET', path: new RegExp(`^${GROUP}/[^/]+/containers/[^/]+/logs$`), query: ['api-version', 'tail', 'timestamps'] },
];

/** Required fields of the ContainerGroup definition (the specification's `required` lists), as paths. */
export function missingRequired(body: any): string[] {
  const out: string[] = [];
  if (typeof body?.location !== 'string') out.push('location');
  const p = body?.properties;
  if (!p) return [...out, 'properties'];
  if (!Array.isArray(p.containers) || p.containers.length === 0) out.push('properties.containers');
  if (p.osType !== 'Linux' && p.osType !== 'Windows') out.push('properties.osType');
  (p.containers ?? []).forEach((c: any, i: number) => {
    if (typeof c?.name !== 'string') out.push(`properties.containers[${i}].name`);
    if (typeof c?.properties?.image !== 'string') out.push(`properties.containers[${i}].properties.image`);
    const r = c?.properties?.resources?.requests;
    if (typeof r?.cpu !== 'number') out.push(`properties.containers[${i}].properties.resources.requests.cpu`);
    if (typeof r?.memoryInGB !== 'number') out.push(`properties.containers[${i}].properties.resources.requests.memoryInGB`);
    for (const [j, e] of (c?.properties?.environmentVariables ?? []).entries()) if (typeof e?.name !== 'string') out.push(`properties.containers[${i}].properties.environmentVariables[${j}].name`);
  });
  for (const [i, v] of (p.volumes ?? []).entries()) if (typeof v?.name !== 'string') out.push(`properties.volumes[${i}].name`);
  for (const [i, c] of (p.imageRegistryCredentials ?? []).entries()) if (typeof c?.server !== 'string') out.push(`properties.imageRegistryCredentials[${i}].server`);
  return out;
}
