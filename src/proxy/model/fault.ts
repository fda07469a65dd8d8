// The HTTP fault filter's configuration as the proxy applies it.

export interface FaultConfig {
  /** Fraction in [0, 1] of requests to delay, and by how long. */
  delay: { fraction: number; delayMs: number } | undefined;
  /** Fraction in [0, 1] of requests to answer with `status` without reaching the upstream. */
  abort: { fraction: number; status: number; grpcStatus: number | undefined } | undefined;
}
