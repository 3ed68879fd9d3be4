/**
 * Live log lines of running attempts, for `logs -f` followers. The reconciler publishes every new
 * line exactly once (it keeps the emitted count on the attempt record); followers get the lines
 * published so far for the attempt, then new ones as they come, until the attempt ends.
 */

type Listener = (event: { line?: string; end?: boolean }) => void;

interface Channel {
  lines: string[];
  listeners: Set<Listener>;
  ended: boolean;
}

/** Lines kept per attempt for late followers (older ones are in ACI's log and the archive). */
const MAX_BUFFERED_LINES = 10_000;

export class LogHub {
  private readonly channels = new Map<string, Channel>();

  private key(run: string, attempt: number): string {
    return `${run}#${attempt}`;
  }

  private channel(run: string, attempt: number): Channel {
    const k = this.key(run, attempt);
    let ch = this.channels.get(k);
    if (!ch) {
      ch = { lines: [], listeners: new Set(), ended: false };
      this.channels.set(k, ch);
    }
    return ch;
  }

  publish(run: string, attempt: number, container: string, line: string, multiContainer: boolean): void {
    const ch = this.channel(run, attempt);
    const text = multiContainer ? `[${container}] ${line}` : line;
    ch.lines.push(text);
    if (ch.lines.length > MAX_BUFFERED_LINES) ch.lines.splice(0, ch.lines.length - MAX_BUFFERED_LINES);
    for (const l of ch.listeners) l({ line: text });
  }

  /** The attempt finished: followers end; the buffer is dropped (the archive has the whole log). */
  end(run: string, attempt: number): void {
    const k = this.key(run, attempt);
    const ch = this.channels.get(k);
    if (!ch) return;
    ch.ended = true;
    for (const l of ch.listeners) l({ end: true });
    this.channels.delete(k);
  }

  /** Whether someone follows the attempt (the reconciler then fetches its log on every poll). */
  hasFollowers(run: string, attempt: number): boolean {
    return (this.channels.get(this.key(run, attempt))?.listeners.size ?? 0) > 0;
  }

  /** Lines published so far and a subscription to the rest. */
  follow(run: string, attempt: number, listener: Listener): { buffered: string[]; unsubscribe: () => void } {
    const ch = this.channel(run, attempt);
    ch.listeners.add(listener);
    return {
      buffered: [...ch.lines],
      unsubscribe: () => {
        ch.listeners.delete(listener);
        if (ch.listeners.size === 0 && ch.lines.length === 0 && !ch.ended) this.channels.delete(this.key(run, attempt));
      },
    };
  }
}
