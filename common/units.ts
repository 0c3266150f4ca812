// Branded quantities that are easy to mix up (STYLE rule 16). The brand exists only for the
// compiler: at run time these are plain numbers.

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** UTC milliseconds since the Unix epoch (may carry a sub-millisecond fraction). */
export type UnixMs = Brand<number, 'UnixMs'>;
/** A span of time in milliseconds. */
export type DurationMs = Brand<number, 'DurationMs'>;

export const unixMs = (value: number): UnixMs => value as UnixMs;
export const durationMs = (value: number): DurationMs => value as DurationMs;

export const MS_PER_SECOND = 1000;
export const MS_PER_DAY = 86_400_000;
/** Speed of light in vacuum, km/s (exact, SI). */
export const SPEED_OF_LIGHT_KM_PER_SEC = 299_792.458;
