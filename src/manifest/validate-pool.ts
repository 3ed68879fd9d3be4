/**
 * Validates manifest files on worker threads when there are many of them (a controller's first
 * pass over 10,000 files), in the calling thread when there are few (one edited file).
 *
 * Why: parsing YAML is most of a cold start's CPU and most of its garbage. On worker threads it
 * uses the other cores, and its garbage lives and dies in the workers' heaps (small young
 * generations, and the workers exit once the burst is over), not in the controller's heap, which
 * then holds only the results. A single edit is validated in place: a round trip to a worker that
 * may first have to start would cost more than the validation (≈ 0.3 ms).
 *
 * Results are identical either way (the same `validateBytes`, structured-cloned back). A worker
 * that fails (crash, out of memory) never loses a file: its batches are validated in place and
 * the pool stops using workers.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ContainerJob } from '../api/types';
import type { Diagnostic } from './diagnostic';
import { validateBytes } from './validate';

/** What the manifest watcher keeps of one file's validation. */
export interface PoolValidation {
  jobs: { job: ContainerJob; file: string; line: number; column: number }[];
  diagnostics: Diagnostic[];
}
export type PoolResult = PoolValidation | { error: string };
export interface PoolRequest {
  id: number;
  items: { bytes: Uint8Array; file: string }[];
}
export interface PoolResponse {
  id: number;
  results: PoolResult[];
}

export interface ValidatorPoolOptions {
  /** Worker threads at most (default: the number of cores, at most 4). */
  workers?: number;
  /** Validations in one busy stretch before workers are used (default 64). */
  spawnAfter?: number;
  /** Workers exit after this long without work (default 2 s). */
  idleMs?: number;
  /** Files sent to a worker in one message at most (default 32). */
  chunk?: number;
  /** The compiled worker script (default: validate-worker.js next to this file; absent → never use workers). */
  workerFile?: string;
  /** Young-generation cap of each worker (MB; default 16): its garbage is short-lived. */
  youngGenerationMb?: number;
  /** Called once if workers fail and the pool falls back to validating in place. */
  onWorkerFailure?: (err: Error) => void;
}

/** The watcher's in-place validation: the same function the workers run. */
export function validateForWatcher(bytes: Uint8Array, file: string): PoolValidation {
  const r = validateBytes(bytes, file, { cache: false });
  return { jobs: r.jobs.map((j) => ({ job: j.job, file: j.file, line: j.line, column: j.column })), diagnostics: r.diagnostics };
}

interface Pending {
  bytes: Uint8Array;
  file: string;
  resolve: (v: PoolValidation) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Batches sent and not answered, by request id. */
  inflight: Map<number, Pending[]>;
  items: number;
}

export class ValidatorPool {
  private readonly max: number;
  private readonly spawnAfter: number;
  private readonly idleMs: number;
  private readonly chunk: number;
  private readonly workerFile: string | null;
  private readonly youngMb: number;
  private readonly onWorkerFailure?: (err: Error) => void;
  private queue: Pending[] = [];
  private flushScheduled = false;
  private slots: Slot[] = [];
  private nextId = 1;
  /** Validations since the pool was last idle. */
  private burst = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private broken = false;
  private closed = false;
  /** Files validated by workers and in place (cumulative; for tests and metrics). */
  readonly stats = { inWorkers: 0, inPlace: 0, workersStarted: 0 };

  constructor(opts: ValidatorPoolOptions = {}) {
    this.max = Math.max(0, opts.workers ?? Math.min(4, availableParallelism()));
    this.spawnAfter = opts.spawnAfter ?? 64;
    this.idleMs = opts.idleMs ?? 2000;
    this.chunk = Math.max(1, opts.chunk ?? 32);
    const file = opts.workerFile ?? path.join(__dirname, 'validate-worker.js');
    // Under ts-jest this module runs from its .ts source: there is no compiled worker to start.
    this.workerFile = file.endsWith('.js') && existsSync(file) ? file : null;
    this.youngMb = opts.youngGenerationMb ?? 16;
    this.onWorkerFailure = opts.onWorkerFailure;
  }

  /** Workers running now. */
  get workers(): number {
    return this.slots.length;
  }

  /** True when this pool may start workers at all. */
  get canUseWorkers(): boolean {
    return this.workerFile !== null && this.max > 0 && !this.broken && !this.closed;
  }

  /** Validate one file: the result at once when done in place, a promise when a worker does it. */
  validate(bytes: Uint8Array, file: string): PoolValidation | Promise<PoolValidation> {
    this.burst++;
    this.touch();
    if (!this.canUseWorkers || (this.slots.length === 0 && this.burst <= this.spawnAfter)) return this.inPlace(bytes, file);
    return new Promise<PoolValidation>((resolve, reject) => {
      this.queue.push({ bytes, file, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // one message per worker per turn of the event loop, however many files arrived in it
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * The caller's burst is over (a watcher pass ended): stop idle workers now rather than after
   * `idleMs`, so their memory is returned before whatever the caller does next.
   */
  release(): void {
    if (this.queue.length > 0 || this.busyItems() > 0 || this.slots.length === 0) return;
    this.burst = 0;
    void this.stopWorkers();
  }

  /** Stop the workers (pending files are validated in place). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    await this.stopWorkers();
    this.drainInPlace(this.queue.splice(0));
  }

  private inPlace(bytes: Uint8Array, file: string): PoolValidation {
    this.stats.inPlace++;
    return validateForWatcher(bytes, file);
  }

  private drainInPlace(items: Pending[]): void {
    for (const p of items) {
      try {
        p.resolve(this.inPlace(p.bytes, p.file));
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const items = this.queue.splice(0);
    if (items.length === 0) return;
    if (!this.canUseWorkers) return this.drainInPlace(items);
    while (this.slots.length < this.max && this.slots.length * this.chunk < items.length + this.busyItems()) {
      if (!this.spawn()) return this.drainInPlace(items);
    }
    for (let i = 0; i < items.length; i += this.chunk) {
      const batch = items.slice(i, i + this.chunk);
      const slot = this.slots.reduce((a, b) => (b.items < a.items ? b : a));
      const id = this.nextId++;
      slot.inflight.set(id, batch);
      slot.items += batch.length;
      const req: PoolRequest = { id, items: batch.map((p) => ({ bytes: p.bytes, file: p.file })) };
      slot.worker.postMessage(req);
    }
  }

  private busyItems(): number {
    return this.slots.reduce((n, s) => n + s.items, 0);
  }

  private spawn(): boolean {
    let worker: Worker;
    try {
      worker = new Worker(this.workerFile!, { resourceLimits: { maxYoungGenerationSizeMb: this.youngMb } });
    } catch (err) {
      this.fail(err as Error);
      return false;
    }
    worker.unref();
    this.stats.workersStarted++;
    const slot: Slot = { worker, inflight: new Map(), items: 0 };
    this.slots.push(slot);
    worker.on('message', (res: PoolResponse) => {
      const batch = slot.inflight.get(res.id);
      if (!batch) return;
      slot.inflight.delete(res.id);
      slot.items -= batch.length;
      batch.forEach((p, i) => {
        const r = res.results[i];
        if (!r) return p.reject(new Error('validator worker returned no result'));
        if ('error' in r) return p.reject(new Error(r.error));
        this.stats.inWorkers++;
        p.resolve(r);
      });
      this.touch();
    });
    const lost = (err: Error) => {
      if (!this.slots.includes(slot)) return;
      this.slots = this.slots.filter((s) => s !== slot);
      const orphans = [...slot.inflight.values()].flat();
      slot.inflight.clear();
      slot.items = 0;
      this.fail(err);
      this.drainInPlace(orphans);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`validator worker exited with code ${code}`)));
    return true;
  }

  /** Workers failed: validate in place from now on (nothing is lost, it is only slower). */
  private fail(err: Error): void {
    if (this.broken || this.closed) return;
    this.broken = true;
    this.onWorkerFailure?.(err);
    void this.stopWorkers().then(() => this.drainInPlace(this.queue.splice(0)));
  }

  /** Re-arm the idle timer: after `idleMs` without work the workers exit and the burst count resets. */
  private touch(): void {
    if (this.closed) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.queue.length > 0 || this.busyItems() > 0) return this.touch();
      this.burst = 0;
      void this.stopWorkers();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private async stopWorkers(): Promise<void> {
    const slots = this.slots;
    this.slots = [];
    const orphans = slots.flatMap((s) => [...s.inflight.values()].flat());
    for (const s of slots) s.inflight.clear();
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => undefined)));
    this.drainInPlace(orphans);
  }
}
