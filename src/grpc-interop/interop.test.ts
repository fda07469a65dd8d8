// The gRPC xDS interop cases (cases.ts) against every xDS client we hold to the mesh's config:
// @grpc/grpc-js-xds, gRPC C-core through the newest grpcio and through Debian's python3-grpcio, and
// grpc-go. One xDS server (ours) serves them the translation of the same Istio YAML. Prints the table
// case x client; MESHWORK_INTEROP_DOC=1 also writes it into docs/grpc-interop.md.
// A client whose runtime is missing fails its tests in CI (CI=true) and is skipped, with the reason,
// elsewhere.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { REPO_ROOT } from '../translate/testdata/fixture.js';
import { CASES } from './cases.js';
import { clientKinds, type ClientKind } from './clients.js';
import { InteropMesh } from './mesh.js';
import { loadTestProtos, writeDescriptorSet } from './protos.js';
import { runCase, type CaseResult } from './runner.js';
import { renderTable, type Cell } from './table.js';
import { interopTools } from './tools.js';

const tools = interopTools();
// MESHWORK_INTEROP_CASES (case names) / MESHWORK_INTEROP_CLIENTS (client ids), comma-separated, narrow a run.
const only = (variable: string): ((name: string) => boolean) => {
  const wanted = process.env[variable]?.split(',').filter(Boolean);
  return (name) => !wanted || wanted.includes(name);
};
const kinds: ClientKind[] = clientKinds(tools).filter((k) => only('MESHWORK_INTEROP_CLIENTS')(k.id));
const cases = CASES.filter((c) => only('MESHWORK_INTEROP_CASES')(c.name));
const inCi = process.env['CI'] === 'true';
const results = new Map<string, Cell[]>();

describe('gRPC xDS interop: every case on every client', { timeout: 30 * 60_000 }, () => {
  let protos: grpc.GrpcObject;
  let mesh: InteropMesh;
  let workDir: string;
  let descriptorSet: string;

  before(async () => {
    if (!tools.protoDir) throw new Error('grpc.testing protos are missing: run node scripts/ensure-grpc-interop.mjs (npm test does)');
    protos = loadTestProtos(tools.protoDir);
    mesh = new InteropMesh(protos);
    await mesh.start();
    workDir = mkdtempSync(join(tmpdir(), 'meshwork-grpc-interop-'));
    descriptorSet = join(workDir, 'grpc-testing.desc');
    writeDescriptorSet(tools.protoDir, descriptorSet);
  });

  after(async () => {
    await mesh?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    const table = renderTable(kinds.map((k) => k.label), cases.map((c) => ({ name: c.name, cells: results.get(c.name) ?? [] })));
    console.log(`\ngRPC xDS interop (case x client):\n${table}\n`);
    if (process.env['MESHWORK_INTEROP_DOC'] === '1') {
      if (cases.length !== CASES.length || kinds.length !== clientKinds(tools).length) throw new Error('MESHWORK_INTEROP_DOC=1 writes the whole table: run every case on every client');
      writeDoc(table);
    }
  });

  for (const interopCase of cases) {
    describe(interopCase.name, () => {
      let result: CaseResult | undefined;
      before(async () => {
        let notRun = 'not run';
        try {
          result = await runCase(interopCase, { mesh, protos, kinds, missingFails: inCi, files: { workDir, protoDir: tools.protoDir ?? '', descriptorSet } });
        } catch (err) {
          notRun = `the case failed: ${(err as Error).message}`;
          throw err;
        } finally {
          results.set(interopCase.name, kinds.map((k) => result?.cells.get(k.id) ?? { outcome: 'FAIL', reason: `${k.label}: ${notRun}` }));
        }
      });

      for (const kind of kinds) {
        test(kind.label, (t) => {
          const cell = result?.cells.get(kind.id);
          assert.ok(cell, 'the case did not run');
          if (cell.outcome === 'n/a') return t.skip(cell.reason);
          if (cell.outcome === 'FAIL' && result?.knownGap) return t.todo(cell.reason);
          assert.equal(cell.outcome, 'PASS', cell.outcome === 'FAIL' ? cell.reason : '');
        });
      }
    });
  }
});

const BEGIN = '<!-- interop-table:begin -->';
const END = '<!-- interop-table:end -->';

function writeDoc(table: string): void {
  const path = join(REPO_ROOT, 'docs', 'grpc-interop.md');
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${path} lacks the ${BEGIN} ... ${END} markers`);
  writeFileSync(path, `${text.slice(0, start + BEGIN.length)}\n${table}\n${text.slice(end)}`);
}
