// Go's time.ParseDuration, for the variables Istio's agent reads as durations (SECRET_TTL "24h", "2m"),
// a Canary's intervals and the CLI's duration flags.

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a Go duration such as "24h", "1h30m", "90s", "1.5m"; throws naming the variable and the form expected. */
export function parseGoDuration(text: string, what: string): number {
  const value = text.trim();
  const pattern = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = pattern.exec(value); m; m = pattern.exec(value)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = pattern.lastIndex;
  }
  if (value === '0') return 0;
  if (value === '' || matched !== value.length) {
    throw new Error(`${what}: "${text}" is not a duration: write it as Go does, a number and a unit (ns, us, ms, s, m, h), e.g. "24h", "2m", "1h30m"`);
  }
  return total;
}
