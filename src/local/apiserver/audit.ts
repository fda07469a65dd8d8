// One audit line per request: who asked what (kubectl sends its command line), what it got, how long it took.
import type { IncomingHttpHeaders } from 'node:http';

export interface AuditEntry {
  method: string;
  url: string;
  code: number;
  durationMs: number;
  headers: IncomingHttpHeaders;
}

export function auditLine(clusterName: string, e: AuditEntry): string {
  const command = e.headers['kubectl-command'];
  const agent = e.headers['user-agent'];
  const parts = [new Date().toISOString(), clusterName, e.method, e.url, String(e.code), `${e.durationMs.toFixed(1)}ms`];
  if (typeof command === 'string') parts.push(`kubectl-command=${JSON.stringify(command)}`);
  else if (typeof agent === 'string') parts.push(`user-agent=${JSON.stringify(agent)}`);
  return parts.join(' ');
}
