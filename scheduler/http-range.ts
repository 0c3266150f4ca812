// The Range request header for one byte range (RFC 9110 §14.1.2, §14.2), as a result download
// answers it: `bytes=first-last`, `bytes=first-` and `bytes=-suffixLength`. A server may ignore
// Range (§14.2: "A server MAY ignore the Range header field"); we ignore what we do not serve —
// other units, several ranges, text that is not a range — and answer those with the whole content
// (200), which every client must accept. A range that starts at or past the end is unsatisfiable
// (416 with `Content-Range: bytes */size`, §15.5.17).

export type ByteRangeRequest =
  | { readonly kind: 'whole' }
  | { readonly kind: 'range'; readonly start: number; readonly endInclusive: number }
  | { readonly kind: 'unsatisfiable' };

/** Longest Range header looked at; longer ones are ignored (whole content). */
const RANGE_HEADER_LENGTH_MAX = 128;

/** The part of a `sizeBytes` representation a Range header asks for. */
export function parseByteRange(header: string | undefined, sizeBytes: number): ByteRangeRequest {
  if (header === undefined || header.length > RANGE_HEADER_LENGTH_MAX) return { kind: 'whole' };
  const match = /^bytes=(?:(\d{1,15})-(\d{0,15})|-(\d{1,15}))$/i.exec(header.trim());
  if (match === null) return { kind: 'whole' };
  if (match[3] !== undefined) {
    const suffixBytes = Number(match[3]);
    if (suffixBytes === 0 || sizeBytes === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, sizeBytes - suffixBytes), endInclusive: sizeBytes - 1 };
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? undefined : Number(match[2]);
  // §14.1.1: a range whose last position is before its first is invalid: ignored.
  if (last !== undefined && last < start) return { kind: 'whole' };
  if (start >= sizeBytes) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, endInclusive: Math.min(last ?? sizeBytes - 1, sizeBytes - 1) };
}
