// Seeded randomness (STYLE rule 3): the same seed gives the same sequence on every machine, so a
// simulation or a randomised test that fails replays exactly from its printed seed.

/** Uniform numbers in [0, 1) from Mulberry32 (Tommy Ettinger's 32-bit generator). */
export function seededRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
