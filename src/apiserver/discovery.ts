/** Legacy Kubernetes discovery documents and /version. */
import { API_GROUP, KIND } from '../api/types';
import { JOBS, RUN_KIND, RUNS } from './objects';

export const GROUP_VERSION = `${API_GROUP}/v1`;

/** `/api`: the core group is not served (kubectl accepts an empty version list). */
export function apiVersions(): Record<string, unknown> {
  return { kind: 'APIVersions', apiVersion: 'v1', versions: [], serverAddressByClientCIDRs: [] };
}

export function apiGroup(): Record<string, unknown> {
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: API_GROUP,
    versions: [{ groupVersion: GROUP_VERSION, version: 'v1' }],
    preferredVersion: { groupVersion: GROUP_VERSION, version: 'v1' },
  };
}

export function apiGroupList(): Record<string, unknown> {
  const { kind: _k, apiVersion: _a, ...group } = apiGroup();
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] };
}

export function apiResourceList(): Record<string, unknown> {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: GROUP_VERSION,
    resources: [
      {
        name: JOBS,
        singularName: 'containerjob',
        namespaced: false,
        kind: KIND,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        shortNames: ['cj'],
        categories: ['all', 'acictl'],
      },
      { name: `${JOBS}/status`, singularName: '', namespaced: false, kind: KIND, verbs: ['get', 'patch', 'update'] },
      {
        name: RUNS,
        singularName: 'containerjobrun',
        namespaced: false,
        kind: RUN_KIND,
        verbs: ['get', 'list', 'watch'],
        shortNames: ['cjr'],
        categories: ['all', 'acictl'],
      },
    ],
  };
}

/** `/version`: a Kubernetes-shaped version (kubectl warns about skew against 1.32 otherwise). */
export function versionInfo(productVersion: string): Record<string, unknown> {
  return {
    major: '1',
    minor: '32',
    gitVersion: `v1.32.0+acictl-${productVersion}`,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsc',
    platform: `${process.platform}/${process.arch}`,
  };
}
