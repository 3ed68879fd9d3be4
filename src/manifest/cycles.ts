/**
 * Dependency cycles among jobs (spec.dependsOn): pure. A cycle is a validation error at every job
 * on it (`acictl validate` and the controller's directory sources), naming the cycle and where
 * each of its jobs is defined.
 */

/** The cycles of a graph (name → upstream names), each as its jobs in dependency order, smallest name first. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's strongly connected components; a component of 2+ jobs, or a job on itself, is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(orderCycle(comp, graph));
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** One walk around the component from its smallest name, following dependsOn edges inside it. */
function orderCycle(comp: string[], graph: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(comp);
  const start = [...comp].sort()[0];
  const path = [start];
  const seen = new Set(path);
  let cur = start;
  for (;;) {
    const next = (graph.get(cur) ?? []).filter((n) => members.has(n)).sort();
    const fresh = next.find((n) => !seen.has(n));
    if (fresh === undefined) break;
    path.push(fresh);
    seen.add(fresh);
    cur = fresh;
  }
  // Jobs of the component the walk did not reach (a component with several loops) are appended.
  for (const n of [...comp].sort()) if (!seen.has(n)) path.push(n);
  return path;
}

/** "a → b → a (a at x.yaml:3, b at y.yaml:7)" */
export function describeCycle(cycle: string[], where: (job: string) => string | undefined): string {
  const places = cycle.map((j) => [j, where(j)] as const).filter(([, w]) => w !== undefined).map(([j, w]) => `${j} at ${w}`);
  return `dependency cycle: ${[...cycle, cycle[0]].join(' → ')}${places.length ? ` (${places.join(', ')})` : ''}`;
}

/**
 * The cycle that giving `name` the upstreams `upstream` would close among `jobs` (name → upstream
 * names of every other stored job), or undefined. For writes of one job at a time (the API).
 */
export function cycleThrough(name: string, upstream: readonly string[], jobs: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  if (upstream.length === 0) return undefined;
  const graph = new Map(jobs);
  graph.set(name, upstream);
  return findCycles(graph).find((c) => c.includes(name));
}
