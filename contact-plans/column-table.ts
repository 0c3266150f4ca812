// A growable table of numeric columns (typed arrays): millions of rows cost no object each, and a
// table moves between worker threads by transferring its buffers. Pass tables and inter-satellite
// window tables are both this, with their own columns.

export type NumericColumn = Int32Array | Float64Array | Uint8Array;
export type Columns = { [key: string]: NumericColumn };
/** One row: a number per column. */
export type RowOf<C extends Columns> = { readonly [K in keyof C]: number };

const INITIAL_CAPACITY = 256;

/** `length` rows of `columns` are valid; capacity doubles as rows are added. */
export class ColumnTable<C extends Columns> {
  columns: C;
  length: number;
  readonly #allocate: (capacity: number) => C;
  readonly #keys: readonly (keyof C & string)[];

  constructor(allocate: (capacity: number) => C, columns?: C, length = 0) {
    this.#allocate = allocate;
    this.columns = columns ?? allocate(INITIAL_CAPACITY);
    this.#keys = Object.keys(this.columns) as (keyof C & string)[];
    this.length = length;
  }

  get keys(): readonly (keyof C & string)[] {
    return this.#keys;
  }

  push(row: RowOf<C>): void {
    if (this.length === this.#capacity()) this.#grow(this.length * 2);
    const i = this.length;
    for (const key of this.#keys) this.columns[key]![i] = row[key];
    this.length = i + 1;
  }

  /** Appends every row of `other`. */
  append(other: ColumnTable<C>): void {
    const needed = this.length + other.length;
    if (needed > this.#capacity()) this.#grow(Math.max(needed, this.#capacity() * 2));
    for (const key of this.#keys) (this.columns[key] as Float64Array).set((other.columns[key] as Float64Array).subarray(0, other.length), this.length);
    this.length = needed;
  }

  row(i: number): RowOf<C> {
    const row: Record<string, number> = {};
    for (const key of this.#keys) row[key] = this.columns[key]![i]!;
    return row as RowOf<C>;
  }

  /** Columns trimmed to `length`, for transfer to another thread. */
  trimmed(): C {
    const out: Record<string, NumericColumn> = {};
    for (const key of this.#keys) out[key] = this.columns[key]!.slice(0, this.length);
    return out as C;
  }

  #capacity(): number {
    return this.columns[this.#keys[0]!]!.length;
  }

  #grow(capacity: number): void {
    const next = this.#allocate(capacity);
    for (const key of this.#keys) (next[key] as Float64Array).set(this.columns[key] as Float64Array);
    this.columns = next;
  }
}
