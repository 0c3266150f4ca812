// The Illinois variant of regula falsi: bracketing like bisection, converging superlinearly like
// the secant method (Dowell & Jarratt, BIT 11, 1971). One implementation for every root search on
// an interpolant (pass crossings and culminations, inter-satellite window edges).

/**
 * A root of `f` in [a, b], where fa = f(a) and fb = f(b) have opposite signs, located to within
 * `toleranceX` or after `iterationsMax` evaluations, whichever comes first.
 */
export function illinoisRoot(f: (x: number) => number, a: number, b: number, fa: number, fb: number, toleranceX: number, iterationsMax: number): number {
  let side = 0;
  for (let i = 0; i < iterationsMax && b - a > toleranceX; i += 1) {
    const x = fa === fb ? (a + b) / 2 : (a * fb - b * fa) / (fb - fa);
    const fx = f(x);
    if (fx === 0) return x;
    if ((fx < 0) === (fa < 0)) {
      a = x;
      fa = fx;
      // The same end kept twice: halve the other end's value so the next secant moves it.
      if (side === -1) fb /= 2;
      side = -1;
    } else {
      b = x;
      fb = fx;
      if (side === 1) fa /= 2;
      side = 1;
    }
  }
  return fa === fb ? (a + b) / 2 : (a * fb - b * fa) / (fb - fa);
}
