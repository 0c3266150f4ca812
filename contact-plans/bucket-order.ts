// Ordering millions of rows by a numeric key without sorting them all at once: a counting sort into
// buckets of the key's range (about four indices each, in index order), then each bucket sorted by
// the caller's full order (insertion sort for the usual handful, Array sort for a crowded bucket).
// Used for the contact plan's rows (by start time, then every field) and its per-node index (by key,
// then index). Bucket numbers never decrease with the key, so the result is the whole order as long
// as `compare` orders by the key first; keys that are not finite all go to the first bucket.

/** Indices 0 … keys.length − 1 in the order of `compare`, which must order by `keys` first. */
export function orderByBucketedKey(keys: ArrayLike<number>, compare: (a: number, b: number) => number): Int32Array {
  const n = keys.length;
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < n; i += 1) {
    low = Math.min(low, keys[i]!);
    high = Math.max(high, keys[i]!);
  }
  const buckets = Math.max(1, Math.ceil(n / 4));
  const width = (high - low) / buckets;
  // Never decreasing with the key; a zero width (one key) makes NaN, which goes to bucket 0.
  const bucketOf = (i: number): number => {
    const b = Math.floor((keys[i]! - low) / width);
    return b >= 0 ? Math.min(b, buckets - 1) : 0;
  };
  const first = new Int32Array(buckets + 1);
  for (let i = 0; i < n; i += 1) first[bucketOf(i) + 1]! += 1;
  for (let b = 0; b < buckets; b += 1) first[b + 1]! += first[b]!;
  const fill = first.slice(0, buckets);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i += 1) order[fill[bucketOf(i)]!++] = i;
  for (let b = 0; b < buckets; b += 1) {
    const from = first[b]!;
    const end = first[b + 1]!;
    if (end - from > 32) {
      order.subarray(from, end).sort(compare);
      continue;
    }
    // Insertion sort: most buckets hold a handful of indices.
    for (let k = from + 1; k < end; k += 1) {
      const i = order[k]!;
      let j = k;
      while (j > from && compare(order[j - 1]!, i) > 0) {
        order[j] = order[j - 1]!;
        j -= 1;
      }
      order[j] = i;
    }
  }
  return order;
}
