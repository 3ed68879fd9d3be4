/**
 * `GET /acictl/v1/leases`: the leader-election lease as a Kubernetes-shaped, read-only object
 * (coordination.k8s.io/v1 Lease fields in `spec`; what is acictl's own — the fencing token, the
 * renew age on the database's clock, the answering replica — in `status`).
 */
import type { Pool } from 'pg';
import { LeaderElector } from './leader';

export interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string };
  spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string; leaseTransitions: number };
  status: {
    fencingToken: number;
    /** now() - renewTime on the database's clock (ms): no clock of two machines is compared. */
    renewAgeMs: number;
    /** The replica that answered, and its role as it sees it. */
    servedBy: { identity: string; role: 'leader' | 'follower' };
  };
}

export interface LeaseList {
  apiVersion: 'acictl.dev/v1';
  kind: 'LeaseList';
  store: 'postgres' | 'sqlite';
  /** Why there is no lease (SQLite: one process, no election). */
  message?: string;
  items: LeaseObject[];
}

export const SQLITE_LEASES: LeaseList = {
  apiVersion: 'acictl.dev/v1',
  kind: 'LeaseList',
  store: 'sqlite',
  message: 'no lease: this controller uses the embedded SQLite store (one process, no leader election)',
  items: [],
};

export async function leaseList(db: Pool, elector: LeaderElector): Promise<LeaseList> {
  const rec = await LeaderElector.read(db);
  const out: LeaseList = { apiVersion: 'acictl.dev/v1', kind: 'LeaseList', store: 'postgres', items: [] };
  if (!rec) {
    out.message = 'no lease yet: no replica has been elected';
    return out;
  }
  out.items.push({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'controller' },
    spec: { holderIdentity: rec.holder, leaseDurationSeconds: rec.leaseDurationMs / 1000, renewTime: rec.renewTime, leaseTransitions: rec.transitions },
    status: { fencingToken: rec.token, renewAgeMs: rec.renewAgeMs ?? 0, servedBy: { identity: elector.identity, role: elector.isLeader() ? 'leader' : 'follower' } },
  });
  return out;
}
