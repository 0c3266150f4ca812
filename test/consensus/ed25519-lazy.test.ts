// consensus/ed25519.ts loads @noble/curves only when it needs it (the first signature OpenSSL
// rejects, the first key checked for registration): a process that sees only honest signatures —
// an orbital agent — never holds it (orbital/README.md, "Memory and start-up"). Checked in a fresh
// process, whose module loads a hook records. The registration check does its own curve arithmetic,
// held here to @noble/curves' answers.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import { checkPublicKeyForRegistration, type PublicKeyRefusal } from '../../consensus/ed25519.ts';

const ED25519 = new URL('../../consensus/ed25519.ts', import.meta.url).href;

async function nobleLoadedAfter(body: string): Promise<boolean[]> {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    const nobleLoaded = () => loaded.some((url) => url.includes('/@noble/curves/'));
    const e = await import(${JSON.stringify(ED25519)});
    const seen = [];
    ${body}
    console.log(JSON.stringify(seen));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  return JSON.parse(stdout) as boolean[];
}

describe('@noble/curves in ed25519 verification', () => {
  it('is not loaded to sign and verify honest signatures, and is loaded (synchronously) for the first one OpenSSL rejects', async () => {
    const seen = await nobleLoadedAfter(`
      const signer = e.ed25519Signer(new Uint8Array(32).fill(7));
      const message = new TextEncoder().encode('assignment');
      const signature = signer.sign(message);
      seen.push(nobleLoaded(), e.ed25519Verify(signer.publicKey, message, signature), nobleLoaded());
      const forged = signature.slice(); forged[0] ^= 1;
      seen.push(e.ed25519Verify(signer.publicKey, message, forged), nobleLoaded());`);
    expect(seen).toEqual([false, true, false, false, true]);
  });

  it('is not loaded to check a key for registration (an agent checks its scheduler\'s key at start)', async () => {
    const seen = await nobleLoadedAfter(`
      const honest = e.ed25519Signer(new Uint8Array(32).fill(7)).publicKey;
      seen.push(e.checkPublicKeyForRegistration(honest).ok, e.checkPublicKeyForRegistration(new Uint8Array(32)).ok, nobleLoaded());`);
    expect(seen).toEqual([true, false, false]);
  });
});

/** The refusal @noble/curves gives (what checkPublicKeyForRegistration answered through it before). */
function nobleRefusal(publicKey: Uint8Array): PublicKeyRefusal | 'ok' {
  let point: ReturnType<typeof ed25519.Point.fromBytes>;
  try {
    point = ed25519.Point.fromBytes(publicKey, true);
  } catch {
    return 'not-on-curve';
  }
  if (point.isSmallOrder()) return 'small-order';
  let canonical: boolean;
  try {
    canonical = Buffer.from(ed25519.Point.fromBytes(publicKey, false).toBytes()).equals(publicKey);
  } catch {
    canonical = false;
  }
  if (!canonical) return 'non-canonical';
  return point.isTorsionFree() ? 'ok' : 'torsion';
}

const bytesOf = (value: bigint): Uint8Array => {
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return bytes;
};

describe('the registration check without @noble/curves', () => {
  it('answers as @noble/curves does for honest, torsion-laden, small-order, non-canonical and random keys', () => {
    const rng = seededRng(215);
    const keys: Uint8Array[] = [];
    const torsion = ed25519.Point.fromBytes(bytesOf(2n ** 255n - 20n), true); // y = −1: order 2
    for (let i = 0; i < 60; i++) {
      const seed = new Uint8Array(32).map(() => Math.floor(rng() * 256));
      const honest = ed25519.Point.fromBytes(ed25519.getPublicKey(seed));
      keys.push(honest.toBytes(), honest.add(torsion).toBytes());
      keys.push(new Uint8Array(32).map(() => Math.floor(rng() * 256)));
    }
    // Every y ≥ p (only 19 of them, each with both sign bits), y = 0, 1, −1, and the sign bit on x = 0.
    for (let y = 2n ** 255n - 19n; y < 2n ** 255n; y++) keys.push(bytesOf(y), bytesOf(y | (1n << 255n)));
    for (const y of [0n, 1n, 2n ** 255n - 20n]) keys.push(bytesOf(y), bytesOf(y | (1n << 255n)));
    const answers = keys.map((key) => {
      const check = checkPublicKeyForRegistration(key);
      return [Buffer.from(key).toString('hex'), check.ok ? 'ok' : check.reason];
    });
    expect(answers).toEqual(keys.map((key) => [Buffer.from(key).toString('hex'), nobleRefusal(key)]));
    const reasons = new Set(answers.map(([, reason]) => reason));
    expect([...reasons].sort()).toEqual(['non-canonical', 'not-on-curve', 'ok', 'small-order', 'torsion']);
  });
});
