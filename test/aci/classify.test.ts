import { classifyChange } from '../../src/aci/classify';
import { OBSERVED_SECRET } from '../../src/aci/canonical';
import { fullTemplate, type Template } from './fixtures';

type Edit = (t: Template) => void;
const main = (t: Template) => t.containers[0];

const RECREATE: [string, Edit, string][] = [
  ['osType', (t) => (t.osType = 'Windows'), '/osType'],
  ['restartPolicy', (t) => (t.restartPolicy = 'Never'), '/restartPolicy'],
  ['priority', (t) => (t.priority = 'Spot'), '/priority'],
  ['sku', (t) => (t.sku = 'Confidential'), '/sku'],
  ['zones', (t) => (t.zones = ['2']), '/zones'],
  ['location', (t) => (t.location = 'westeurope'), '/location'],
  ['resourceGroup', (t) => (t.resourceGroup = 'rg2'), '/resourceGroup'],
  ['cpu', (t) => (main(t).resources.requests.cpu = 2), '/containers/main/resources'],
  ['memory', (t) => (main(t).resources.requests.memoryInGB = 4), '/containers/main/resources'],
  ['gpu count', (t) => (main(t).resources.requests.gpu = { count: 2, sku: 'V100' }), '/containers/main/resources'],
  ['gpu removed', (t) => delete main(t).resources.requests.gpu, '/containers/main/resources'],
  ['limits', (t) => (main(t).resources.limits = { cpu: 4 }), '/containers/main/resources'],
  ['container ports', (t) => (main(t).ports = [{ port: 443 }]), '/containers/main/ports'],
  ['ipAddress ports', (t) => (t.ipAddress!.ports = [{ port: 8080 }]), '/ipAddress'],
  ['ipAddress type', (t) => (t.ipAddress!.type = 'Private'), '/ipAddress'],
  ['subnetIds', (t) => (t.subnetIds = [{ id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/x' }]), '/subnetIds'],
  ['dnsConfig', (t) => (t.dnsConfig = { nameServers: ['10.0.0.11'] }), '/dnsConfig'],
  ['volume added', (t) => t.volumes!.push({ name: 'more', emptyDir: {} }), '/volumes/more'],
  ['azureFile share', (t) => (t.volumes![0].azureFile!.shareName = 'other'), '/volumes/data'],
  ['gitRepo revision', (t) => (t.volumes![3].gitRepo!.revision = 'v2'), '/volumes/repo'],
  ['container added', (t) => t.containers.push({ name: 'extra', image: 'x', resources: { requests: { cpu: 0.1, memoryInGB: 0.1 } } }), '/containers/extra'],
  ['container removed', (t) => t.containers.splice(1, 1), '/containers/sidecar'],
];

const IN_PLACE: [string, Edit, string][] = [
  ['image', (t) => (main(t).image = 'myregistry.azurecr.io/app:1.3'), '/containers/main/image'],
  ['command', (t) => (main(t).command = ['/bin/sh', '-c', 'echo bye']), '/containers/main/command'],
  ['env value', (t) => (main(t).environmentVariables![0].value = 'hourly'), '/containers/main/environmentVariables'],
  ['env added', (t) => main(t).environmentVariables!.push({ name: 'NEW', value: '1' }), '/containers/main/environmentVariables'],
  ['secret source', (t) => (main(t).environmentVariables![1].secureValueFrom = { file: '/run/secrets/db' }), '/containers/main/environmentVariables'],
  ['volumeMounts', (t) => (main(t).volumeMounts![0].readOnly = true), '/containers/main/volumeMounts'],
  ['tags', (t) => (t.tags = { 'cost-center': '43' }), '/tags'],
  ['registry username', (t) => (t.imageRegistryCredentials![0].username = 'other'), '/imageRegistryCredentials'],
  ['registry added', (t) => t.imageRegistryCredentials!.push({ server: 'third.io', identity: '/x' }), '/imageRegistryCredentials'],
  ['init image', (t) => (t.initContainers![0].image = 'busybox:2'), '/initContainers/init/image'],
  ['init command', (t) => (t.initContainers![0].command = ['false']), '/initContainers/init/command'],
  ['init added', (t) => t.initContainers!.push({ name: 'init2', image: 'x' }), '/initContainers'],
  ['diagnostics', (t) => (t.diagnostics!.logAnalytics.workspaceId = 'w-456'), '/diagnostics'],
  ['identity', (t) => (t.identity = { type: 'SystemAssigned' }), '/identity'],
];

const NO_CHANGE: [string, Edit][] = [
  ['location spelling', (t) => (t.location = 'eastus')],
  ['env order', (t) => main(t).environmentVariables!.reverse()],
  ['container order', (t) => t.containers.reverse()],
  ['volume order', (t) => t.volumes!.reverse()],
  ['default protocol', (t) => (main(t).ports = [{ port: 80 }])],
  ['default readOnly', (t) => (main(t).volumeMounts![0] = { name: 'data', mountPath: '/data' })],
  ['empty vs absent', (t) => ((t.containers[1].environmentVariables = []), (t.containers[1].ports = []))],
  ['subscriptionId', (t) => (t.subscriptionId = 'some-sub')],
  ['identity id case', (t) => (t.identity!.userAssignedIdentities = t.identity!.userAssignedIdentities!.map((s) => s.toUpperCase()))],
  ['numbers as strings (ARM echo)', (t) => (main(t).resources.requests.cpu = '1.0' as unknown as number)],
  ['observed secret placeholder', (t) => (main(t).environmentVariables![1].secureValueFrom = OBSERVED_SECRET)],
  ['secret volume files hidden (ARM echo)', (t) => (t.volumes![2].secret = {})],
];

describe('classifyChange', () => {
  test.each(RECREATE)('recreate: %s', (_name, edit, field) => {
    const desired = fullTemplate();
    edit(desired);
    const c = classifyChange(fullTemplate(), desired);
    expect(c.kind).toBe('recreate');
    expect(c.fields).toContain(field);
  });

  test.each(IN_PLACE)('in place: %s', (_name, edit, field) => {
    const desired = fullTemplate();
    edit(desired);
    const c = classifyChange(fullTemplate(), desired);
    expect(c).toEqual({ kind: 'inPlace', fields: [field], changed: [field] });
  });

  test.each(NO_CHANGE)('none: %s', (_name, edit) => {
    const desired = fullTemplate();
    edit(desired);
    expect(classifyChange(fullTemplate(), desired)).toEqual({ kind: 'none', fields: [], changed: [] });
  });

  test('recreate lists only the forcing fields, changed lists all', () => {
    const desired = fullTemplate();
    desired.osType = 'Windows';
    main(desired).image = 'new:1';
    const c = classifyChange(fullTemplate(), desired);
    expect(c.fields).toEqual(['/osType']);
    expect(c.changed).toEqual(['/containers/main/image', '/osType']);
  });

  test('is pure: inputs are not modified', () => {
    const a = fullTemplate();
    const b = fullTemplate();
    b.osType = 'Windows';
    const before = JSON.stringify([a, b]);
    classifyChange(a, b);
    expect(JSON.stringify([a, b])).toBe(before);
  });
});
