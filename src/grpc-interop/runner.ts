// Runs one interop case on every client: the mesh set up for it, the clients started (each case gets
// fresh processes, so stats and config start clean), the case's steps, and a cell per client: PASS,
// FAIL with its first failed step, or n/a with the reason.

import type * as grpc from '@grpc/grpc-js';
import type { InteropCase } from './cases.js';
import { ClientProcess, type ClientId, type ClientKind } from './clients.js';
import { TARGET, type InteropMesh } from './mesh.js';
import type { Cell } from './table.js';

export interface RunEnv {
  mesh: InteropMesh;
  protos: grpc.GrpcObject;
  kinds: ClientKind[];
  /** A client whose runtime is missing fails (CI) instead of being n/a. */
  missingFails: boolean;
  files: { workDir: string; protoDir: string; descriptorSet: string };
}

export interface CaseResult {
  cells: Map<ClientId, Cell>;
  /** What `analyze` says the translator does not translate for this case, if anything. */
  knownGap: string | undefined;
}

export async function runCase(interopCase: InteropCase, env: RunEnv): Promise<CaseResult> {
  const { mesh } = env;
  const cells = new Map<ClientId, Cell>();
  mesh.reset();
  await interopCase.setUp(mesh);
  const knownGap = interopCase.knownGap?.(mesh.problems());
  const running: ClientProcess[] = [];
  const failed = new Map<ClientProcess, string>();
  for (const kind of env.kinds) {
    const why = interopCase.unsupported?.[kind.id];
    if (why) cells.set(kind.id, { outcome: 'n/a', reason: `${kind.label}: ${why}` });
    else if (kind.missing) cells.set(kind.id, { outcome: env.missingFails ? 'FAIL' : 'n/a', reason: `${kind.label}: ${kind.missing}` });
    else running.push(new ClientProcess(kind, interopCase.name, env.protos));
  }
  const failing = async (client: ClientProcess, step: string, action: () => Promise<void>): Promise<void> => {
    try {
      await action();
    } catch (err) {
      failed.set(client, `${step}: ${(err as Error).message}`);
    }
  };
  try {
    await Promise.all(running.map((client) => failing(client, 'start', () => client.start({ xdsPort: mesh.port, target: TARGET, ...env.files, ...interopCase.clientOptions }))));
    await interopCase.run({
      mesh,
      check: async (step, check) => {
        await Promise.all(running.filter((c) => !failed.has(c)).map((client) => failing(client, step, () => check(client))));
      },
    });
  } finally {
    for (const client of running) {
      const failure = failed.get(client);
      const known = failure && knownGap ? ` (the translator reports: ${knownGap})` : '';
      cells.set(client.kind.id, failure ? { outcome: 'FAIL', reason: `${client.kind.label}, ${failure}${known}` } : { outcome: 'PASS' });
      client.stop();
    }
  }
  return { cells, knownGap };
}
