// decodeBundle on hostile input: random bytes, and random mutations and truncations of valid
// bundles. It must answer every input with a bundle or an OrbitfedError — never another error, a
// crash or a hang — and a bundle it accepts must re-encode to exactly the input (strict decoding
// and deterministic encoding make the two inverse), unless it dropped a "discard" block.
import { describe, expect, it } from 'vitest';
import { OrbitfedError, seededRng } from '../../common/index.ts';
import { decodeAdminRecord, encodeAdminRecord, statusReportAbout, STATUS_REPORT_REASON } from '../../dtn/admin-record.ts';
import { decodeBundleDetailed, encodeBundle } from '../../dtn/bundle-codec.ts';
import { dtnTimeMs } from '../../dtn/dtn-time.ts';
import { randomBundle, toHex } from './sample-bundles.ts';

const SEED = Number(process.env.ORBITFED_FUZZ_SEED ?? 20_220_131);

/** Initial bytes that open the parser's less travelled paths: indefinite starts, breaks, 8-byte heads, tags, simple values. */
const INTERESTING_BYTES = [0x9f, 0xff, 0x1b, 0x5b, 0x7f, 0xd8, 0x18, 0xf8, 0xf5, 0x00];

function mutate(bytes: Uint8Array, rng: () => number): Uint8Array {
  const int = (n: number): number => Math.floor(rng() * n);
  const join = (...parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  };
  let out: Uint8Array = bytes.slice();
  for (let edits = 1 + int(4); edits > 0; edits--) {
    const at = int(out.length + 1);
    const before = out.subarray(0, at);
    switch (int(6)) {
      case 0: out = join(before, Uint8Array.of(int(256)), out.subarray(at + 1)); break;
      case 1: if (at < out.length) out[at]! ^= 1 << int(8); break;
      case 2: out = join(before, Uint8Array.of(int(256)), out.subarray(at)); break;
      case 3: out = join(before, out.subarray(at + 1 + int(8))); break;
      case 4: out = out.slice(0, at); break;
      default: out = join(before, Uint8Array.of(INTERESTING_BYTES[int(INTERESTING_BYTES.length)]!), out.subarray(at));
    }
  }
  return out;
}

/** Decodes; checks the outcome is a bundle that re-encodes to the input, or an OrbitfedError. */
function probe(bytes: Uint8Array): 'accepted' | 'refused' {
  let decoded: ReturnType<typeof decodeBundleDetailed>;
  try {
    decoded = decodeBundleDetailed(bytes);
  } catch (error) {
    if (!(error instanceof OrbitfedError)) throw new Error(`non-OrbitfedError for ${toHex(bytes)}`, { cause: error });
    expect(error.code).toMatch(/^ORBITFED_BUNDLE_[A-Z_]+$/);
    return 'refused';
  }
  if (decoded.unprocessedBlocks.every((b) => b.disposition === 'kept')) expect(toHex(encodeBundle(decoded.bundle))).toBe(toHex(bytes));
  return 'accepted';
}

describe(`decodeBundle under fuzzing (seed ${SEED}; set ORBITFED_FUZZ_SEED to replay another)`, () => {
  it('answers 5,000 random byte strings with only OrbitfedErrors', () => {
    console.log(`bundle fuzz seed ${SEED}`);
    const rng = seededRng(SEED);
    for (let i = 0; i < 5000; i++) {
      const length = Math.floor(rng() * 200);
      const bytes = new Uint8Array(length).map(() => Math.floor(rng() * 256));
      if (i % 2 === 0 && length > 0) bytes[0] = 0x9f; // get past the first check half the time
      probe(bytes);
    }
  });

  it('answers 10,000 mutations and truncations of valid bundles with a re-encodable bundle or an OrbitfedError', () => {
    const rng = seededRng(SEED + 1);
    const outcomes = { accepted: 0, refused: 0 };
    for (let i = 0; i < 10_000; i++) {
      const valid = encodeBundle(randomBundle(rng));
      outcomes[probe(mutate(valid, rng))]++;
    }
    console.log(`bundle fuzz seed ${SEED}: ${outcomes.accepted} mutants accepted, ${outcomes.refused} refused`);
    expect(outcomes.refused).toBeGreaterThan(outcomes.accepted);
  });

  it('answers mutations of status reports with a record or an OrbitfedError', () => {
    const rng = seededRng(SEED + 2);
    for (let i = 0; i < 5000; i++) {
      const subject = randomBundle(rng);
      const report = statusReportAbout(subject, { received: dtnTimeMs(5), deleted: dtnTimeMs(9) }, STATUS_REPORT_REASON.depletedStorage);
      const bytes = mutate(encodeAdminRecord(report), rng);
      try {
        decodeAdminRecord(bytes);
      } catch (error) {
        if (!(error instanceof OrbitfedError)) throw new Error(`non-OrbitfedError for ${toHex(bytes)}`, { cause: error });
      }
    }
  });
});
