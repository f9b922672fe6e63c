// The image cache (the ECE1779 memcache tier, in memory inside the serving container): bytes by key,
// bounded by a capacity in bytes, evicting by least-recent use or at random.

export type CachePolicy = 'lru' | 'random';

export interface CacheCounters {
  hits: number;
  misses: number;
  evictions: number;
}

export interface CachedImage {
  body: Buffer;
  contentType: string;
}

export class ImageCache {
  // A Map keeps insertion order: re-inserting on a hit makes its first key the least recently used.
  private readonly entries = new Map<string, CachedImage>();
  // Keys in an array as well, so a random victim is picked in O(1) (swap-remove).
  private readonly keys: string[] = [];
  private readonly positions = new Map<string, number>();
  private usedBytes = 0;
  readonly counters: CacheCounters = { hits: 0, misses: 0, evictions: 0 };

  constructor(
    private capacityBytes: number,
    private policy: CachePolicy,
    private readonly random: () => number = Math.random,
  ) {}

  get items(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.usedBytes;
  }

  get(key: string): CachedImage | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      this.counters.misses += 1;
      return undefined;
    }
    this.counters.hits += 1;
    if (this.policy === 'lru') {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** Stores an entry, evicting others until it fits; one larger than the whole capacity is not kept. */
  set(key: string, entry: CachedImage): void {
    this.remove(key);
    const size = entry.body.length;
    if (size > this.capacityBytes) return;
    while (this.usedBytes + size > this.capacityBytes) this.evictOne();
    this.entries.set(key, entry);
    this.positions.set(key, this.keys.length);
    this.keys.push(key);
    this.usedBytes += size;
  }

  /** New settings: a smaller capacity evicts at once. */
  configure(capacityBytes: number, policy: CachePolicy): void {
    this.capacityBytes = capacityBytes;
    this.policy = policy;
    while (this.usedBytes > this.capacityBytes) this.evictOne();
  }

  clear(): void {
    this.entries.clear();
    this.keys.length = 0;
    this.positions.clear();
    this.usedBytes = 0;
  }

  private evictOne(): void {
    const victim =
      this.policy === 'lru'
        ? (this.entries.keys().next().value as string | undefined)
        : this.keys[Math.floor(this.random() * this.keys.length)];
    if (victim === undefined) return;
    this.remove(victim);
    this.counters.evictions += 1;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.usedBytes -= entry.body.length;
    const position = this.positions.get(key) as number;
    const last = this.keys.pop() as string;
    if (last !== key) {
      this.keys[position] = last;
      this.positions.set(last, position);
    }
    this.positions.delete(key);
  }
}
