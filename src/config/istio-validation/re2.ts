// Whether RE2 (Go's regexp, Envoy's safe_regex) accepts a pattern: the constructs it lacks are
// refused with Go's message; the rest is checked by compiling it as a JavaScript regex once RE2-only
// syntax (inline flags, (?P<name>...), \z, \Q...\E, [[:alpha:]]) is rewritten to its JavaScript form.

function unsupported(what: string): string {
  return `invalid or unsupported Perl syntax: \`${what}\``;
}

/** undefined when RE2 compiles `re`, else Go's error text (without the "error parsing regexp: " prefix). */
export function re2Error(re: string): string | undefined {
  let js = '';
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const ch = re[i]!;
    if (ch === '\\') {
      const next = re[i + 1];
      if (next === undefined) return 'trailing backslash at end of expression: ``';
      if (next === 'Q') {
        const end = re.indexOf('\\E', i + 2);
        const literal = re.slice(i + 2, end < 0 ? undefined : end);
        js += literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
        i = end < 0 ? re.length : end + 1;
        continue;
      }
      if (/[1-9]/.test(next)) return `invalid escape sequence: \`\\${next}\``;
      if (next === 'k' || next === 'g') return `invalid escape sequence: \`\\${next}\``;
      if (next === 'z') { js += '$(?![\\s\\S])'; i++; continue; }
      if (next === 'A') { js += '^'; i++; continue; }
      if (next === 'C') return 'invalid escape sequence: `\\C`';
      if (/[pP]/.test(next) && re[i + 2] !== '{') { js += `\\${next}{${re[i + 2] ?? ''}}`; i += 2; continue; }
      js += ch + next;
      i++;
      continue;
    }
    if (inClass) {
      if (ch === '[' && re[i + 1] === ':') {
        const end = re.indexOf(':]', i + 2);
        if (end > 0) {
          const name = re.slice(i + 2, end);
          const classes: Record<string, string> = { alpha: 'A-Za-z', digit: '0-9', alnum: 'A-Za-z0-9', upper: 'A-Z', lower: 'a-z', space: '\\s', xdigit: '0-9A-Fa-f', word: '\\w', punct: '!-\\/:-@\\[-`{-~', blank: ' \\t', cntrl: '\\x00-\\x1f\\x7f', print: ' -~', graph: '!-~', ascii: '\\x00-\\x7f' };
          const neg = name.startsWith('^');
          const cls = classes[neg ? name.slice(1) : name];
          if (cls === undefined) return `invalid character class range: \`[:${name}:]\``;
          if (neg) return undefined; // a negated POSIX class: valid in RE2, not expressible here
          js += cls;
          i = end + 1;
          continue;
        }
      }
      if (ch === ']') inClass = false;
      js += ch;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      js += ch;
      if (re[i + 1] === '^') { js += '^'; i++; }
      if (re[i + 1] === ']') { js += '\\]'; i++; }
      continue;
    }
    if (ch === '(' && re[i + 1] === '?') {
      const rest = re.slice(i + 2);
      if (rest.startsWith('=') || rest.startsWith('!')) return unsupported(`(?${rest[0]}`);
      if (rest.startsWith('<=') || rest.startsWith('<!')) return unsupported(`(?${rest.slice(0, 2)}`);
      if (rest.startsWith('>')) return unsupported('(?>');
      if (rest.startsWith('#')) return unsupported('(?#');
      if (rest.startsWith('P<') || rest.startsWith('<')) {
        const start = rest.startsWith('P<') ? 2 : 1;
        const end = rest.indexOf('>', start);
        const name = end < 0 ? '' : rest.slice(start, end);
        if (end < 0 || !/^[A-Za-z0-9_]+$/.test(name)) return `invalid named capture: \`(?${rest.slice(0, end < 0 ? rest.length : end + 1)}\``;
        js += `(?<${/^[0-9]/.test(name) ? `_${name}` : name}>`;
        i += 1 + start + name.length + 1;
        continue;
      }
      if (rest.startsWith('P=') || rest.startsWith('P>')) return unsupported(`(?${rest.slice(0, 2)}`);
      const flags = /^([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
      if (!flags || (flags[2] !== undefined && flags[2] === '' && flags[1] === '')) return `invalid or unsupported Perl syntax: \`(?${rest.slice(0, 2)}\``;
      // Flags change matching, not validity: drop them for the JavaScript check.
      js += flags[3] === ':' ? '(?:' : '';
      i += 1 + flags[0].length;
      continue;
    }
    if ((ch === '*' || ch === '+' || ch === '?' || ch === '}') && re[i + 1] === '+') {
      return `invalid nested repetition operator: \`${ch}+\``;
    }
    if (ch === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(re.slice(i));
      if (m) {
        const lo = Number(m[1]);
        const hi = m[3] ? Number(m[3]) : lo;
        if (lo > 1000 || hi > 1000 || (m[3] && hi < lo)) return `invalid repeat count: \`${m[0]}\``;
      }
    }
    js += ch;
  }
  if (inClass) return `missing closing ]: \`${re.slice(re.lastIndexOf('['))}\``;
  const nested = /(^|[^\\])([*+?]|\{\d+(,\d*)?\})[*+]/.exec(js);
  if (nested) return `invalid nested repetition operator: \`${nested[2]}${js[nested.index + nested[0].length - 1]}\``;
  try {
    new RegExp(js, 'u');
    return undefined;
  } catch {
    try {
      new RegExp(js);
      return undefined;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/Unterminated group|Unmatched '\)'/.test(msg)) return /Unmatched/.test(msg) ? `unexpected ): \`${re}\`` : `missing closing ): \`${re}\``;
      if (/Nothing to repeat/.test(msg)) return `missing argument to repetition operator: \`${re}\``;
      return `invalid regexp \`${re}\` (${msg})`;
    }
  }
}
