// Timestamps as Kubernetes writes them (metav1.Time); the kubelet and the controllers both stamp objects.

/** RFC 3339 with seconds, as Kubernetes writes metav1.Time: '2024-05-01T10:00:00Z'. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** metav1.MicroTime: RFC 3339 with microseconds, '2024-05-01T10:00:00.123456Z'. */
export function rfc3339Micro(seconds: number, nanos: number): string {
  const micros = String(Math.floor(nanos / 1000)).padStart(6, '0');
  return `${rfc3339(seconds * 1000).slice(0, -1)}.${micros}Z`;
}

/** Go's time.Duration.String() (metav1.Duration's JSON): '1h0m0s', '1m30s', '1.5s', '2ms', '0s'. */
export function goDuration(nanos: bigint): string {
  if (nanos === 0n) return '0s';
  const sign = nanos < 0n ? '-' : '';
  const u = nanos < 0n ? -nanos : nanos;
  if (u < 1_000_000_000n) {
    // Below a second Go picks the largest unit that keeps an integer part: ns, µs or ms.
    const [unit, scale] = u < 1000n ? ['ns', 1n] : u < 1_000_000n ? ['µs', 1000n] : ['ms', 1_000_000n];
    return `${sign}${decimal(u, scale)}${unit}`;
  }
  const seconds = decimal(u % 60_000_000_000n, 1_000_000_000n);
  const minutes = u / 60_000_000_000n;
  if (minutes === 0n) return `${sign}${seconds}s`;
  const hours = minutes / 60n;
  return hours === 0n ? `${sign}${minutes}m${seconds}s` : `${sign}${hours}h${minutes % 60n}m${seconds}s`;
}

/** value / scale with the fraction's trailing zeros (and a bare point) dropped, as Go's fmtFrac. */
function decimal(value: bigint, scale: bigint): string {
  const whole = value / scale;
  const digits = scale.toString().length - 1;
  const fraction = digits === 0 ? '' : (value % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}
