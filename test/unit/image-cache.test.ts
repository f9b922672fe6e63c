import { ImageCache } from '../../src/lib/images/cache';

const entry = (bytes: number) => ({ body: Buffer.alloc(bytes), contentType: 'image/webp' });

describe('ImageCache', () => {
  it('evicts the least recently used entry first, a hit counting as a use', () => {
    const cache = new ImageCache(30, 'lru');
    cache.set('a', entry(10));
    cache.set('b', entry(10));
    cache.set('c', entry(10));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('d', entry(10)); // evicts b
    expect(cache.get('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((key) => cache.get(key) !== undefined)).toEqual([true, true, true]);
    expect(cache.counters).toEqual({ hits: 4, misses: 1, evictions: 1 });
    expect({ items: cache.items, bytes: cache.bytes }).toEqual({ items: 3, bytes: 30 });
  });

  it('evicts at random under the random policy (the injected draw picks the victim)', () => {
    const draws = [0.99, 0];
    const cache = new ImageCache(30, 'random', () => draws.shift() ?? 0);
    for (const key of ['a', 'b', 'c']) cache.set(key, entry(10));
    cache.set('d', entry(10)); // 0.99 → the last key in the array: c
    expect(cache.get('c')).toBeUndefined();
    cache.set('e', entry(10)); // 0 → the first: a
    expect(cache.get('a')).toBeUndefined();
    expect(['b', 'd', 'e'].every((key) => cache.get(key) !== undefined)).toBe(true);
    expect(cache.counters.evictions).toBe(2);
  });

  it('evicts as many entries as a large one needs, and never keeps one larger than the capacity', () => {
    const cache = new ImageCache(30, 'lru');
    for (const key of ['a', 'b', 'c']) cache.set(key, entry(10));
    cache.set('big', entry(25));
    expect({ items: cache.items, bytes: cache.bytes }).toEqual({ items: 1, bytes: 25 });
    cache.set('huge', entry(31));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.bytes).toBe(25);
  });

  it('replaces an entry under the same key without counting it twice', () => {
    const cache = new ImageCache(30, 'random');
    cache.set('a', entry(10));
    cache.set('a', entry(20));
    expect({ items: cache.items, bytes: cache.bytes, evictions: cache.counters.evictions }).toEqual({
      items: 1,
      bytes: 20,
      evictions: 0,
    });
  });

  it('shrinks at once when the capacity is lowered (0 keeps nothing), and clears', () => {
    const cache = new ImageCache(100, 'lru');
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, entry(20));
    cache.configure(40, 'lru');
    expect({ items: cache.items, bytes: cache.bytes }).toEqual({ items: 2, bytes: 40 });
    expect(cache.get('a')).toBeUndefined();
    cache.configure(0, 'random');
    expect(cache.items).toBe(0);
    cache.set('e', entry(1));
    expect(cache.items).toBe(0);
    cache.configure(100, 'lru');
    cache.set('f', entry(5));
    cache.clear();
    expect({ items: cache.items, bytes: cache.bytes }).toEqual({ items: 0, bytes: 0 });
  });
});
