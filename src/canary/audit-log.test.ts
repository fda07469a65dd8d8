import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { appendAudit, auditLine } from './audit-log.js';
import type { AuditRecord } from './plan.js';

const record = (step: number, v2: number, canary = 'sample/hello'): AuditRecord => ({ time: '2026-01-01T00:00:00Z', canary, action: 'step', step, weights: { v1: 100 - v2, v2 }, message: `step ${step}` });

test('one JSON line per weight change with the measurements and the verdict', () => {
  const line = JSON.parse(auditLine({ ...record(1, 25), analysis: { time: 't', canaryWeight: 10, source: 'proxies', canary: { requests: 50, successRate: 100, p99Ms: 9.9 }, baseline: { requests: 450, successRate: 100 }, verdict: 'pass', reasons: [] }, verdict: 'pass' })) as Record<string, unknown>;
  assert.deepEqual(Object.keys(line), ['time', 'canary', 'action', 'step', 'weights', 'measurements', 'verdict', 'message']);
  assert.deepEqual(line.measurements, { source: 'proxies', canary: { requests: 50, successRate: 100, p99Ms: 9.9 }, baseline: { requests: 450, successRate: 100 }, reasons: [] });
});

test("a line equal to the canary's last one (a step completed after a restart) is not repeated; other canaries do not hide it", () => {
  const dir = mkdtempSync(join(tmpdir(), 'canary-audit-'));
  try {
    const file = join(dir, 'audit.jsonl');
    appendAudit(file, record(0, 10));
    appendAudit(file, record(0, 10, 'sample/other'));
    appendAudit(file, record(0, 10));
    appendAudit(file, record(1, 25));
    appendAudit(file, record(0, 10, 'sample/other'));
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { canary: string; step: number });
    assert.deepEqual(lines.map((l) => `${l.canary}:${l.step}`), ['sample/hello:0', 'sample/other:0', 'sample/hello:1']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
