// Prometheus' text exposition format (0.0.4), read: `name{label="value",...} value [timestamp]` lines,
// `#` comments and HELP/TYPE lines skipped, label values unescaped (\\, \", \n), values as Go's
// ParseFloat reads them (+Inf, -Inf, NaN). Pure. Bad lines throw naming the line, as a scrape that
// cannot be read must not be taken for zero traffic.
//
// Exports: Sample, parsePrometheusText(text) -> Sample[].

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(text: string, lineNo: number): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
    default: {
      const v = Number(text);
      if (text === '' || Number.isNaN(v)) throw new Error(`Prometheus text line ${lineNo}: "${text}" is not a sample value`);
      return v;
    }
  }
}

/** Reads `{a="x",b="y"}` starting at `start` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, start: number, lineNo: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  const fail = (what: string): never => {
    throw new Error(`Prometheus text line ${lineNo}: ${what} at column ${i + 1}: ${line}`);
  };
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const nameMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
    if (!nameMatch) fail('expected a label name');
    const name = nameMatch![0];
    i += name.length;
    while (line[i] === ' ') i++;
    if (line[i] !== '=') fail('expected =');
    i++;
    while (line[i] === ' ') i++;
    if (line[i] !== '"') fail('expected a quoted label value');
    i++;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) fail('unterminated label value');
      if (c === '"') break;
      if (c === '\\') {
        const next = line[i + 1];
        value += next === 'n' ? '\n' : next === '\\' ? '\\' : next === '"' ? '"' : `\\${next ?? ''}`;
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++;
    labels[name] = value;
  }
}

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const lineNo = index + 1;
    if (line === '' || line.startsWith('#')) return;
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new Error(`Prometheus text line ${lineNo}: expected a metric name: ${line}`);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const parsed = parseLabels(line, name.length, lineNo);
      labels = parsed.labels;
      rest = line.slice(parsed.end);
    }
    const fields = rest.trim().split(/\s+/);
    if (fields.length < 1 || fields.length > 2 || fields[0] === '') throw new Error(`Prometheus text line ${lineNo}: expected a value (and an optional timestamp): ${line}`);
    samples.push({ name, labels, value: parseValue(fields[0]!, lineNo) });
  });
  return samples;
}
