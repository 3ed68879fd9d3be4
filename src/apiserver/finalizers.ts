/** Deletion with a finalizer, from the reconciler's side (the API sets deletionTimestamp, the reconciler finishes). */
import type { Store } from '../store/types';
import { FINALIZER_CLEANUP } from './objects';

/**
 * Remove `finalizer` (default acictl.dev/cleanup) from a job; when the job is being deleted and no
 * finalizer is left, remove the job for good, as the Kubernetes API server does. Call it after the
 * job's container groups are gone. Returns true when the job no longer exists.
 */
export function removeFinalizer(store: Store, name: string, finalizer: string = FINALIZER_CLEANUP): Promise<boolean> {
  return store.transaction(async () => {
    const job = await store.getJob(name);
    if (!job) return true;
    const finalizers = job.finalizers.filter((f) => f !== finalizer);
    if (job.deletionTimestamp && finalizers.length === 0) {
      await store.deleteJob(name);
      return true;
    }
    if (finalizers.length !== job.finalizers.length) {
      const { uid: _u, resourceVersion: _r, generation: _g, creationTimestamp: _c, ...rest } = job;
      await store.putJob({ ...rest, finalizers }, job.resourceVersion);
    }
    return false;
  });
}
