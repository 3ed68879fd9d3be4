/**
 * `If-None-Match` on a container-group PUT, under the configured behaviour (behaviour.ts). The
 * published ContainerGroups_CreateOrUpdate operation declares no such header, so what ARM does
 * with it is an assumption: this is where each reading is played.
 */
import { ArmError } from './errors';
import type { IfNoneMatchMode } from './behaviour';

/** Whether the PUT must fail on an existing group; throws 400 when the header is refused outright. */
export function ifNoneMatchPrecondition(header: string | string[] | undefined, mode: IfNoneMatchMode): boolean {
  if (header === undefined) return false;
  const value = (Array.isArray(header) ? header.join(',') : header).trim();
  if (mode === 'reject') {
    throw new ArmError(400, 'InvalidHeaderValue', `The header 'If-None-Match' with value '${value}' is not supported by the operation 'ContainerGroups_CreateOrUpdate'.`);
  }
  return mode === 'honour' && value === '*';
}
