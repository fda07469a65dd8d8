// The meshwork container image: one image for the control plane (`control-plane`) and the proxy
// (`proxy sidecar|router`), as Istio ships pilot and proxyv2. In real clusters it is pulled from the
// registry; the local kubelet runs the same CLI from this checkout (local/apps/catalog.ts's meshwork row).
import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MESHWORK_IMAGE_REPOSITORY = 'ghcr.io/meshwork/meshwork';

/** The package version, read from the package.json above this module (src/ under tsx, dist/src/ built). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg && typeof pkg === 'object' && 'name' in pkg && pkg.name === 'meshwork' && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    dir = dirname(dir);
  }
  throw new Error(`cannot find meshwork's package.json above ${fileURLToPath(import.meta.url)}`);
}

export const MESHWORK_VERSION = packageVersion();
/** `ghcr.io/meshwork/meshwork:<version>`: what `meshwork install` deploys and the injector puts in pods. */
export const MESHWORK_IMAGE = `${MESHWORK_IMAGE_REPOSITORY}:${MESHWORK_VERSION}`;

/** The CLI entry module below this one: src/cli/main.ts under tsx, dist/src/cli/main.js when built. */
export function meshworkCliModule(): URL {
  return new URL(`./cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
}
