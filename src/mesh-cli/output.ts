// Output formats shared by every command: a kubectl-style table, or -o json|yaml.
import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml' | 'wide';

export function parseOutputFormat(value: string): OutputFormat {
  if (value === 'table' || value === 'json' || value === 'yaml' || value === 'wide') return value;
  throw new Error(`unknown output format "${value}": use one of table, wide, json, yaml`);
}

export function formatStructured(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : stringify(value).trimEnd();
}

/** Columns padded as kubectl pads them: three spaces between columns, upper-case headers. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
