// Installs the locked dependencies when node_modules is missing or older than package-lock.json,
// so that the README's commands work on a fresh clone with nothing but Node and npm; then the pinned
// Envoy and the pinned Kubernetes API definitions (both into .tools, each only when missing or outdated).
// What only the tests need (the gRPC xDS interop clients) is `npm test`'s own set-up (package.json pretest).
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (stale) {
  console.error('meshwork: installing dependencies (npm ci) ...');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}
execSync('node scripts/ensure-envoy.mjs', { stdio: 'inherit' });
execSync('node scripts/ensure-k8s-proto.mjs', { stdio: 'inherit' });
