// Builds the `meshwork dashboard` page (web/dashboard) into dist/dashboard-ui: type-checks it with its own
// tsconfig (DOM, bundler resolution), then bundles it with Vite. Skipped when the bundle is newer than every
// input, so a build that did not touch the page stays fast.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const output = 'dist/dashboard-ui/index.html';
const inputs = [
  'web/dashboard',
  'src/dashboard/model.ts',
  'src/dashboard/view.ts',
  'src/controlplane/propagation-report.ts',
  'package-lock.json',
];

function newest(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

if (existsSync(output) && statSync(output).mtimeMs >= Math.max(...inputs.map(newest))) process.exit(0);

const require = createRequire(import.meta.url);
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'web/dashboard/tsconfig.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const { build } = await import('vite');
await build({ configFile: 'web/dashboard/vite.config.ts' });
