// Kubernetes' own API definitions, as scripts/ensure-k8s-proto.mjs installs them into
// .tools/k8s-proto/<version> (pinned by k8s-proto.lock.json): every package's generated.proto in one
// protobufjs Root (field names as written, imports resolved by their k8s.io/... paths), and the Go
// types of each package (go-types.ts), which hold the JSON rules and the group/version of its kinds.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { REPO_ROOT } from '../../repo.js';
import type { GoPackageTypes } from './go-types.js';
import { parseGoPackage } from './go-types.js';

export interface ApiDefinitions {
  /** The version of k8s.io/api they come from: 'v0.32.4'. */
  version: string;
  root: protobuf.Root;
  /** runtime.Unknown, the envelope of every protobuf body. */
  unknown: protobuf.Type;
  /** The message of a kind ('apps/v1', 'Deployment'), if its package is installed and declares one. */
  messageFor(apiVersion: string, kind: string): protobuf.Type | undefined;
  /** The API versions whose kinds can be read. */
  apiVersions(): string[];
  goTypesOf(type: protobuf.Type): GoPackageTypes;
}

const SETUP = 'node scripts/ensure-k8s-proto.mjs';

/** The definitions k8s-proto.lock.json pins; throws saying how to install them when they are missing or outdated. */
export function loadApiDefinitions(): ApiDefinitions {
  const lockText = readFileSync(join(REPO_ROOT, 'k8s-proto.lock.json'));
  const { version } = JSON.parse(lockText.toString('utf8')) as { version: string };
  const dir = join(REPO_ROOT, '.tools', 'k8s-proto', version);
  let manifest: { version: string; lockSha256: string; packages: string[] };
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as typeof manifest;
  } catch {
    throw new Error(`the Kubernetes API definitions are not installed in ${dir}: run ${SETUP} (npm test and npm run scenario run it)`);
  }
  if (manifest.lockSha256 !== createHash('sha256').update(lockText).digest('hex')) {
    throw new Error(`the Kubernetes API definitions in ${dir} do not match k8s-proto.lock.json: run ${SETUP}`);
  }
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(dir, target);
  const goByProtoPackage = new Map<string, GoPackageTypes>();
  const protoPackageByApiVersion = new Map<string, string>();
  for (const pkg of manifest.packages) {
    const protoPackage = /^package ([\w.]+);/m.exec(readFileSync(join(dir, pkg, 'generated.proto'), 'utf8'))?.[1];
    if (!protoPackage) throw new Error(`${join(dir, pkg, 'generated.proto')} declares no package`);
    const goFiles = readdirSync(join(dir, pkg)).filter((f) => f.endsWith('.go')).map((f) => readFileSync(join(dir, pkg, f), 'utf8'));
    const go = parseGoPackage(goFiles);
    goByProtoPackage.set(protoPackage, go);
    if (go.groupVersion) {
      const { group, version } = go.groupVersion;
      protoPackageByApiVersion.set(group ? `${group}/${version}` : version, protoPackage);
    }
  }
  root.loadSync(manifest.packages.map((pkg) => `${pkg}/generated.proto`), { keepCase: true });
  root.resolveAll();

  const goTypesOf = (type: protobuf.Type): GoPackageTypes => {
    const pkg = type.parent?.fullName.slice(1) ?? '';
    const go = goByProtoPackage.get(pkg);
    if (!go) throw new Error(`no Go types were loaded for the protobuf package ${pkg}`);
    return go;
  };
  return {
    version: manifest.version,
    root,
    unknown: root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown'),
    messageFor(apiVersion, kind) {
      const pkg = protoPackageByApiVersion.get(apiVersion);
      if (!pkg || !/^\w+$/.test(kind)) return undefined;
      const found = root.lookup(`${pkg}.${kind}`);
      return found instanceof protobuf.Type ? found : undefined;
    },
    apiVersions: () => [...protoPackageByApiVersion.keys()],
    goTypesOf,
  };
}

let installed: ApiDefinitions | undefined;

/** The installed definitions, loaded once per process at the first protobuf body (0.1 to 0.4 s). */
export function installedApiDefinitions(): ApiDefinitions {
  installed ??= loadApiDefinitions();
  return installed;
}
