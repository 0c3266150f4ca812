// Splitting CSV text into rows of cells, shared by the OMM and stations readers.

export interface CsvRow {
  readonly line: number;
  readonly cells: readonly string[];
}

/**
 * RFC 4180 rows (quoted cells may hold commas, doubled quotes and line breaks), each with the
 * 1-based line it starts on. Empty lines are skipped; cells are not trimmed. An unterminated quote
 * is reported by the line it opened on.
 */
export function splitCsvRows(text: string): { rows: CsvRow[]; unterminatedQuoteLine: number | undefined } {
  const rows: CsvRow[] = [];
  let cells: string[] = [];
  let cell = '';
  let line = 1;
  let rowLine = 1;
  let inQuotes = false;
  let quoteLine = 0;
  const endRow = (): void => {
    cells.push(cell);
    if (cells.length > 1 || cells[0] !== '') rows.push({ line: rowLine, cells });
    cells = [];
    cell = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"' && cell.trim() === '') {
      cell = '';
      inQuotes = true;
      quoteLine = line;
    } else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else cell += ch;
  }
  if (inQuotes) return { rows, unterminatedQuoteLine: quoteLine };
  endRow();
  return { rows, unterminatedQuoteLine: undefined };
}
