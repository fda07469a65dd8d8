// Where things are, seen from a compiled test (dist/test/...) or a source one (test/...).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (package.json) above the test file');
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = findRepoRoot();
/**
 * The compiled CLI the end-to-end tests run: bin/meshwork.js (dist/) unless MESHWORK_BIN names another
 * entry module, e.g. a private build's `.build-x/src/cli/main.js` (relative paths: from the repository root).
 */
export const MESHWORK_BIN = process.env.MESHWORK_BIN ? resolve(REPO_ROOT, process.env.MESHWORK_BIN) : join(REPO_ROOT, 'bin', 'meshwork.js');
export const EXAMPLE_DIR = join(REPO_ROOT, 'examples', 'multicluster-helloworld');
/** The scenario as shipped beside the clone for developers and CI. */
export const SHARED_SCENARIO_DIR = resolve(REPO_ROOT, '..', 'shared', 'scenario');

/** The scenario files the tests apply: ../shared/scenario where it exists (developers, CI), else the product's copy. */
export function scenarioDir(): string {
  return existsSync(SHARED_SCENARIO_DIR) ? SHARED_SCENARIO_DIR : EXAMPLE_DIR;
}
