// The product ships its own copy of the scenario (examples/multicluster-helloworld); it must stay
// byte-identical to the scenario the team keeps beside the clone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EXAMPLE_DIR, SHARED_SCENARIO_DIR } from './helpers/paths.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

test('examples/multicluster-helloworld is identical to the shared scenario', { skip: !existsSync(SHARED_SCENARIO_DIR) && 'no ../shared/scenario beside this clone' }, () => {
  const shipped = files(EXAMPLE_DIR).map((f) => relative(EXAMPLE_DIR, f)).sort();
  const shared = files(SHARED_SCENARIO_DIR).map((f) => relative(SHARED_SCENARIO_DIR, f)).sort();
  assert.deepEqual(shipped, shared);
  for (const f of shared) assert.equal(readFileSync(join(EXAMPLE_DIR, f), 'utf8'), readFileSync(join(SHARED_SCENARIO_DIR, f), 'utf8'), f);
});
