// Errors with stable codes (STYLE rule 7): callers match on `code`, people read `message`.

export interface ErrorLocation {
  readonly file?: string;
  readonly line?: number;
  readonly field?: string;
}

export class OrbitfedError extends Error {
  readonly code: string;
  readonly location: ErrorLocation;

  constructor(code: string, message: string, location: ErrorLocation = {}, options?: ErrorOptions) {
    super(formatLocated(message, location), options);
    this.name = 'OrbitfedError';
    this.code = code;
    this.location = location;
  }
}

/** "file:line: field: message", leaving out the parts that are unknown. */
export function formatLocated(message: string, location: ErrorLocation): string {
  const where = [location.file, location.line].filter((p) => p !== undefined).join(':');
  const field = location.field === undefined ? '' : `${location.field}: `;
  return where === '' ? `${field}${message}` : `${where}: ${field}${message}`;
}
