/* global fetch, TextDecoderStream */
// The scheduler's API from the page: JSON GETs with the tenant's key, and the live event stream
// (GET v1/events, text/event-stream) read with fetch, because EventSource cannot send an
// Authorization header. Paths are relative, so the dashboard also works behind a path prefix.

/** A refused call: the HTTP status and the RFC 9457 problem document (code, detail). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem?.code;
  }
}

/** One event of the stream: its name and its JSON data. */
function parseEvent(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return undefined;
  return { event, data: JSON.parse(data.join('\n')) };
}

/** Largest event the page accepts (a job document is a few kB); a longer block means a broken stream. */
const EVENT_CHARS_MAX = 4 * 1024 * 1024;

export class ApiClient {
  #key;

  constructor(key) {
    this.#key = key;
  }

  #headers(accept) {
    return { authorization: `Bearer ${this.#key}`, accept };
  }

  async get(path) {
    const response = await fetch(path, { headers: this.#headers('application/json'), cache: 'no-store' });
    if (!response.ok) {
      const problem = await response.json().catch(() => undefined);
      throw new ApiError(response.status, problem);
    }
    return response.json();
  }

  /** A download (a job's result bytes) as a Blob; refusals as ApiError. */
  async blob(path) {
    const response = await fetch(path, { headers: this.#headers('application/octet-stream'), cache: 'no-store' });
    if (!response.ok) {
      const problem = await response.json().catch(() => undefined);
      throw new ApiError(response.status, problem);
    }
    return response.blob();
  }

  /**
   * Reads the event stream until it ends or `signal` aborts, calling `onEvent({ event, data })`
   * for each event. Resolves when the server ends the stream; rejects on errors.
   */
  async events(onEvent, signal) {
    const response = await fetch('v1/events', { headers: this.#headers('text/event-stream'), cache: 'no-store', signal });
    if (!response.ok) {
      const problem = await response.json().catch(() => undefined);
      throw new ApiError(response.status, problem);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const parsed = parseEvent(block);
        if (parsed !== undefined) onEvent(parsed);
      }
      if (buffer.length > EVENT_CHARS_MAX) throw new Error('the event stream sent an event larger than the page accepts');
    }
  }
}
