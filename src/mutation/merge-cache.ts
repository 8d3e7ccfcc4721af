// A bounded LRU cache in front of mergeProxyMetadata, keyed by the annotation text. Every replica of a Deployment
// carries the same proxy.istio.io/config text, so a rollout parses and edits the YAML once instead of once per pod.
// mergeProxyMetadata is pure (string in, result out), so a cached answer is the answer.
import { mergeProxyMetadata, type MergeResult } from './proxy-config.js';

export type Merge = typeof mergeProxyMetadata;

export interface MergeCacheLimits {
  /** Most annotation texts remembered. */
  maxEntries: number;
  /**
   * Most characters held, all entries together (annotation text plus merged text). An annotation bigger than an
   * eighth of this is merged without being cached, so one huge pod cannot flush everyone else's entries.
   */
  maxChars: number;
}

/** A few hundred Deployments' worth of distinct annotations, at most ~8 MiB of strings (two bytes a character). */
export const DEFAULT_MERGE_CACHE_LIMITS: MergeCacheLimits = { maxEntries: 512, maxChars: 4 * 1024 * 1024 };

interface Entry {
  /** The annotation text, as the first review that brought it had it. */
  key: string;
  /** The `wanted` object the result was computed for (one frozen object per AUTO_ALLOCATE_MODE). */
  wanted: Readonly<Record<string, string>>;
  result: MergeResult;
  chars: number;
}

export class MergeCache {
  private readonly entries = new Map<string, Entry>();
  private heldChars = 0;
  /** The most recently used entry: a rollout asks for the same text many times in a row, and it is already last. */
  private newest: Entry | undefined;
  hits = 0;
  misses = 0;

  constructor(
    private readonly limits: MergeCacheLimits = DEFAULT_MERGE_CACHE_LIMITS,
    private readonly compute: Merge = mergeProxyMetadata,
  ) {}

  /** Same signature and answers as mergeProxyMetadata; pass it to planPodMutation. Results are frozen: they are shared. */
  readonly merge: Merge = (existing, wanted) => {
    // mergeProxyMetadata reads undefined exactly as '' (no ProxyConfig yet), so they share an entry.
    const key = existing ?? '';
    // Asked again for the text it was last asked for: comparing the two texts is cheaper than the Map hashing every
    // review's new copy of the text.
    const newest = this.newest;
    if (newest !== undefined && newest.wanted === wanted && newest.key === key) {
      this.hits++;
      return newest.result;
    }
    const found = this.entries.get(key);
    if (found !== undefined && found.wanted === wanted) {
      this.hits++;
      if (found !== this.newest) {
        // Most recently used goes last: Map iterates in insertion order, so the first key is the eviction candidate.
        this.entries.delete(key);
        this.entries.set(key, found);
        this.newest = found;
      }
      return found.result;
    }
    this.misses++;
    const result = freeze(this.compute(existing, wanted));
    const chars = key.length + (result.kind === 'changed' ? result.text.length : 0);
    if (found !== undefined) this.forget(key, found);
    if (chars <= this.limits.maxChars / 8) {
      this.newest = { key, wanted, result, chars };
      this.entries.set(key, this.newest);
      this.heldChars += chars;
      this.evict();
    }
    return result;
  };

  get size(): number {
    return this.entries.size;
  }

  /** Characters held (annotation texts plus merged texts). */
  get chars(): number {
    return this.heldChars;
  }

  private evict(): void {
    while (this.entries.size > this.limits.maxEntries || this.heldChars > this.limits.maxChars) {
      const oldest = this.entries.entries().next();
      if (oldest.done) return;
      this.forget(oldest.value[0], oldest.value[1]);
    }
  }

  private forget(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.heldChars -= entry.chars;
    if (entry === this.newest) this.newest = undefined;
  }
}

/** A cached result is handed to every pod with the same annotation: nobody may change it. */
function freeze(result: MergeResult): MergeResult {
  if (result.kind !== 'invalid') {
    for (const kept of result.kept) Object.freeze(kept);
    Object.freeze(result.kept);
  }
  if (result.kind === 'changed') Object.freeze(result.added);
  return Object.freeze(result);
}
