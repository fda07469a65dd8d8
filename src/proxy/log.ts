// The proxy's diagnostic log (stderr); the access log is separate (stdout, see accesslog.ts).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type Logger = (level: LogLevel, message: string) => void;

export function stderrLogger(prefix: string, minLevel: LogLevel = 'info'): Logger {
  const order: LogLevel[] = ['debug', 'info', 'warn', 'error'];
  return (level, message) => {
    if (order.indexOf(level) < order.indexOf(minLevel)) return;
    process.stderr.write(`${new Date().toISOString()} ${level} ${prefix} ${message}\n`);
  };
}

/** The message of a thrown value (its stack with `stack`), whatever was thrown. */
export function errorText(e: unknown, stack = false): string {
  if (e instanceof Error) return (stack && e.stack) || e.message;
  return String(e);
}
