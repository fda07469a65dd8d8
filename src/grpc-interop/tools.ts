// Where the interop tests' outside parts are: grpc.testing's protos, the grpcio wheel (and the python
// it fits), the Go client, Debian's python3-grpcio. scripts/ensure-grpc-interop.mjs installs the first
// three (npm test's set-up runs it) and says where they are; this only asks it (`--where`).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../translate/testdata/fixture.js';

export interface InteropTools {
  protoDir: string | null;
  grpcio: { python: string; path: string; version: string } | null;
  goClient: string | null;
  go: string | null;
}

export function interopTools(): InteropTools {
  const res = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'ensure-grpc-interop.mjs'), '--where'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`scripts/ensure-grpc-interop.mjs --where failed: ${res.stderr.trim()}`);
  return JSON.parse(res.stdout) as InteropTools;
}

/** Debian's python3-grpcio (/usr/bin/python3 with dist-packages), when installed: its version, else why not. */
export function debianGrpcio(): { python: string; version: string } | { missing: string } {
  const python = '/usr/bin/python3';
  const res = spawnSync(python, ['-c', 'import grpc, google.protobuf, sys; print(grpc.__version__, grpc.__file__)'], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', PYTHONNOUSERSITE: '1' },
  });
  if (res.error || res.status !== 0) return { missing: `${python} cannot import grpc (${(res.stderr || res.error?.message || '').trim().split('\n').pop()}): apt-get install python3-grpcio` };
  const [version, file] = res.stdout.trim().split(' ');
  if (!file?.startsWith('/usr/lib/python3/dist-packages/')) return { missing: `${python} imports grpc ${version} from ${file}, not Debian's python3-grpcio` };
  return { python, version: version ?? '?' };
}
