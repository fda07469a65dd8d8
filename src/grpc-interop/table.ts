// The result table, case x client, as the test prints it and docs/grpc-interop.md shows it.

export type Cell = { outcome: 'PASS' } | { outcome: 'FAIL'; reason: string } | { outcome: 'n/a'; reason: string };

export function renderTable(clients: string[], rows: Array<{ name: string; cells: Cell[] }>): string {
  const notes: string[] = [];
  const cellText = (cell: Cell): string => {
    if (cell.outcome === 'PASS') return 'PASS';
    notes.push(cell.reason);
    return `${cell.outcome} [${notes.length}]`;
  };
  const lines = [`| case | ${clients.join(' | ')} |`, `|---|${clients.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.name} | ${row.cells.map(cellText).join(' | ')} |`);
  if (notes.length > 0) lines.push('', ...notes.map((n, i) => `[${i + 1}] ${n.replaceAll('\n', ' ')}`));
  return lines.join('\n');
}
