// The audit log: one JSON line per weight change (time, canary, action, step, weights, measurements,
// verdict, message). Written right after the route writes and before the status, so a kill cannot lose
// it; the restarted controller completes the step and would write it again, so a line equal to the
// canary's last one (action, step, weights) is not repeated.
//
// Exports: auditLine(record) (pure), appendAudit(file, record).
import { closeSync, existsSync, openSync, readSync, statSync, appendFileSync } from 'node:fs';
import type { AuditRecord } from './plan.js';

export function auditLine(a: AuditRecord): string {
  const measurements = a.analysis ? { source: a.analysis.source, canary: a.analysis.canary, baseline: a.analysis.baseline, reasons: a.analysis.reasons } : undefined;
  return JSON.stringify({ time: a.time, canary: a.canary, action: a.action, step: a.step, weights: a.weights, ...(measurements ? { measurements } : {}), ...(a.verdict ? { verdict: a.verdict } : {}), message: a.message });
}

const TAIL_BYTES = 256 * 1024;

/** The last line of `canary` in the file's tail, parsed; undefined when there is none. */
function lastLineOf(file: string, canary: string): { action?: string; step?: number; weights?: Record<string, number> } | undefined {
  if (!existsSync(file)) return undefined;
  const size = statSync(file).size;
  const length = Math.min(size, TAIL_BYTES);
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  const lines = buf.toString('utf8').split('\n').reverse();
  for (const line of lines) {
    try {
      const doc = JSON.parse(line) as { canary?: string; action?: string; step?: number; weights?: Record<string, number> };
      if (doc.canary === canary) return doc;
    } catch {
      // a partial first line of the tail, or a line of something else
    }
  }
  return undefined;
}

export function appendAudit(file: string, a: AuditRecord): void {
  const last = lastLineOf(file, a.canary);
  if (last && last.action === a.action && last.step === a.step && JSON.stringify(last.weights) === JSON.stringify(a.weights)) return;
  appendFileSync(file, `${auditLine(a)}\n`);
}
