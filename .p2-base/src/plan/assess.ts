/**
 * What an observed container group says about the attempt it holds. Pure.
 *
 * A list entry carries no instance view: it can only reveal a provisioning failure. A GET result
 * tells the group state, the containers' exit codes and the group events (image pull failures,
 * Spot evictions, health failures), which become failed attempts with the ARM reason.
 */
import type { ObservedGroup } from '../api/observed';

export type Assessment =
  | { done: false; known: boolean }
  | { done: true; phase: 'Succeeded' | 'Failed'; exitCode?: number | null; reason?: string; message?: string };

/** Group events that end an attempt whatever the state says. */
function fatalEvent(g: ObservedGroup): { reason: string; message?: string } | null {
  for (const e of [...(g.events ?? [])].reverse()) {
    const name = e.name ?? '';
    if (/evict|preempt/i.test(name) || /evict/i.test(e.message ?? '')) return { reason: 'Evicted', message: e.message };
    if (name === 'InaccessibleImage' || name === 'ErrImagePull' || name === 'Unhealthy' || name === 'ContainerGroupQuotaReached') {
      return { reason: name === 'ContainerGroupQuotaReached' ? 'Quota' : name, message: e.message };
    }
  }
  return null;
}

function byExitCodes(g: ObservedGroup, fallbackReason: string): Assessment {
  const cs = g.containers ?? [];
  const bad = cs.find((c) => c.exitCode !== undefined && c.exitCode !== 0);
  if (bad) {
    return {
      done: true,
      phase: 'Failed',
      exitCode: bad.exitCode,
      reason: fallbackReason === 'Stopped' ? 'Stopped' : 'ExitCode',
      message: `container ${bad.name} exited with code ${bad.exitCode}${bad.detailStatus ? ` (${bad.detailStatus})` : ''}`,
    };
  }
  if (fallbackReason === 'Succeeded') return { done: true, phase: 'Succeeded', exitCode: cs.length ? 0 : null };
  const ev = fatalEvent(g);
  return { done: true, phase: 'Failed', exitCode: cs.find((c) => c.exitCode !== undefined)?.exitCode ?? null, reason: ev?.reason ?? fallbackReason, message: ev?.message ?? `container group ${g.state?.toLowerCase() ?? 'failed'}` };
}

export function assessGroup(g: ObservedGroup, restartPolicy: 'Never' | 'OnFailure'): Assessment {
  if (g.provisioningState === 'Failed') {
    const ev = fatalEvent(g);
    return { done: true, phase: 'Failed', exitCode: null, reason: ev?.reason ?? 'ProvisioningFailed', message: ev?.message ?? 'container group provisioning failed' };
  }
  if (g.state === undefined) return { done: false, known: false };
  switch (g.state) {
    case 'Succeeded':
      return byExitCodes(g, 'Succeeded');
    case 'Failed':
      return byExitCodes(g, 'Failed');
    case 'Stopped':
      return byExitCodes(g, 'Stopped');
    case 'Unknown': {
      const ev = fatalEvent(g);
      return { done: true, phase: 'Failed', exitCode: null, reason: ev?.reason ?? 'Unknown', message: ev?.message ?? 'container group state is Unknown' };
    }
    default: {
      const ev = fatalEvent(g);
      if (ev) return { done: true, phase: 'Failed', exitCode: null, reason: ev.reason, message: ev.message ?? ev.reason };
      const cs = g.containers ?? [];
      if (restartPolicy === 'Never' && cs.length > 0 && cs.every((c) => c.state === 'Terminated')) {
        return byExitCodes(g, cs.every((c) => c.exitCode === 0) ? 'Succeeded' : 'Failed');
      }
      return { done: false, known: true };
    }
  }
}
