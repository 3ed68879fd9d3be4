/**
 * The nesting limit of manifests and API bodies. A ContainerJob is about eight levels deep; input
 * nested far deeper than any manifest can be is refused up front, before anything recursive
 * (structuredClone, the schema validator, JSON.stringify, merge patch) walks it and overflows the
 * stack. The check itself is iterative.
 */

/** Deepest accepted nesting of mappings/lists (a top-level object is level 1). */
export const MAX_NESTING_DEPTH = 100;

/** The message every refusal uses, so that the limit is always named. */
export function nestingMessage(limit = MAX_NESTING_DEPTH): string {
  return `nested deeper than the limit of ${limit} levels of objects/arrays`;
}

/**
 * Whether `value` nests objects/arrays more than `limit` levels deep. Stops at the first container
 * past the limit, so hostile input costs at most its size. Shared references are walked again
 * (a DAG is fine; cycles, which JSON cannot produce, are cut by the limit too).
 */
export function exceedsNesting(value: unknown, limit = MAX_NESTING_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const c of children) if (typeof c === 'object' && c !== null) stack.push([c, depth + 1]);
  }
  return false;
}
