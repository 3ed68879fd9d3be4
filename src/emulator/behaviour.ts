/**
 * Switches for the ACI behaviours that Microsoft's published specification and examples do not
 * settle (src/emulator/README.md, "Unverified behaviours"). Each has the setting we believe and a
 * pessimistic one, so the controller can be tested against the worst reading.
 */

/** How a PUT carrying `If-None-Match: *` on an existing group is answered. */
export type IfNoneMatchMode =
  /** 412 PreconditionFailed, nothing changes (what the emulator always did). */
  | 'honour'
  /** The header is not looked at: the PUT updates the group and restarts its containers. */
  | 'ignore'
  /** Any PUT carrying the header is refused with 400, whether the group exists or not. */
  | 'reject';

export interface EmulatorBehaviour {
  ifNoneMatch: IfNoneMatchMode;
  /** List items carry each container's `instanceView` (the 2023-05-01 List example) or not (the 2022-09-01 ListByResourceGroup example). */
  listInstanceViews: boolean;
  /** A created group appears in list responses only this long after its PUT (ARM's eventual consistency); GET sees it at once. */
  listDelayMs: number;
}

export const DEFAULT_BEHAVIOUR: EmulatorBehaviour = { ifNoneMatch: 'honour', listInstanceViews: false, listDelayMs: 0 };

/** The worst reading of each switch (list delay 2 s as in the acceptance). */
export const PESSIMISTIC_BEHAVIOUR: EmulatorBehaviour = { ifNoneMatch: 'ignore', listInstanceViews: false, listDelayMs: 2000 };

const MODES: IfNoneMatchMode[] = ['honour', 'ignore', 'reject'];

export function parseIfNoneMatchMode(raw: string): IfNoneMatchMode {
  const v = raw.trim().toLowerCase().replace(/^honor$/, 'honour');
  if (!(MODES as string[]).includes(v)) throw new Error(`invalid If-None-Match behaviour '${raw}' (honour, ignore or reject)`);
  return v as IfNoneMatchMode;
}

export function resolveBehaviour(partial: Partial<EmulatorBehaviour> | undefined): EmulatorBehaviour {
  const b = { ...DEFAULT_BEHAVIOUR, ...(partial ?? {}) };
  if (!Number.isFinite(b.listDelayMs) || b.listDelayMs < 0) throw new Error(`invalid list delay ${b.listDelayMs}`);
  b.ifNoneMatch = parseIfNoneMatchMode(b.ifNoneMatch);
  return b;
}
