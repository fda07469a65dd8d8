// `host:port` as every address flag, env variable and endpoint in the project is written (IPv6 in brackets).

/** Splits `host:port`; names the value and what it was for when it is not one, or the port is out of range. */
export function splitHostPort(value: string, what = 'address'): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || !(port > 0 && port < 65536)) throw new Error(`${what}: "${value}" is not host:port (e.g. 127.11.0.10:15010)`);
  return { host: match[1]!, port };
}
