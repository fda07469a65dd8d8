// The image table of the local kubelet: which container images run as a built-in app and which are
// "tool" images whose containers just idle until someone execs into them. Add an app here (one row)
// and the kubelet runs it.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MESHWORK_IMAGE_REPOSITORY, meshworkCliModule } from '../../image.js';

const OWN_EXT = extname(fileURLToPath(import.meta.url));

function sibling(name: string): URL {
  return new URL(`./${name}${OWN_EXT}`, import.meta.url);
}

export interface BuiltinApp {
  /** Short name shown in messages and image IDs: 'helloworld'. */
  name: string;
  /** The module the app process runs (a Node entry point). */
  module: URL;
  /** Arguments for the module, from the image name's match, the container's first port and its args. */
  args(match: RegExpExecArray, port: number, containerArgs: readonly string[]): string[];
  /** The port used when the container declares none. */
  defaultPort: number;
}

export interface ImageRule {
  /** Matched against the normalized image name (see normalizeImage). */
  pattern: RegExp;
  /** How the image appears in "known images" messages. */
  example: string;
  run: { kind: 'app'; app: BuiltinApp } | { kind: 'idle' };
}

const helloworld: BuiltinApp = {
  name: 'helloworld',
  module: sibling('helloworld'),
  args: (match, port) => [`--version=${match[1]}`, `--port=${port}`],
  defaultPort: 5000,
};

const grpcGreeter: BuiltinApp = {
  name: 'grpc-greeter',
  module: sibling('grpc-greeter'),
  args: (match, port) => [`--version=${match[1]}`, `--port=${port}`],
  defaultPort: 7070,
};

/** Istio's sample: args ["9000,9001", "one"] are the ports and the prefix of every answer. */
const tcpEcho: BuiltinApp = {
  name: 'tcp-echo',
  module: sibling('tcp-echo'),
  args: (_match, port, containerArgs) => [`--ports=${containerArgs[0] ?? port}`, `--prefix=${containerArgs[1] ?? 'hello'}`],
  defaultPort: 9000,
};

const kubeProxy: BuiltinApp = {
  name: 'kube-proxy',
  module: sibling('kube-proxy'),
  args: (_match, port) => [`--port=${port}`],
  defaultPort: 10256,
};

/**
 * The local kubelet's row for the meshwork image (any tag): the container runs this checkout's CLI
 * with the container's args (`control-plane ...`, `proxy sidecar`). The kubelet must pass the
 * container's args as the third argument of `args` (see the report to the kubelet's owner).
 */
export const meshworkApp = {
  name: 'meshwork',
  module: meshworkCliModule(),
  args: (_match: RegExpExecArray, _port: number, containerArgs: readonly string[] = []): string[] => {
    if (containerArgs.length === 0) throw new Error(`the ${MESHWORK_IMAGE_REPOSITORY} image needs args (control-plane ... or proxy sidecar|router)`);
    return [...containerArgs];
  },
  defaultPort: 15021,
} satisfies BuiltinApp;

export function meshworkImageRule(): ImageRule {
  return {
    // normalizeImage drops the tag or digest: 'ghcr.io/meshwork/meshwork:0.1.0' -> 'ghcr.io/meshwork/meshwork'.
    pattern: /^ghcr\.io\/meshwork\/meshwork$/,
    example: `${MESHWORK_IMAGE_REPOSITORY}:<version>`,
    run: { kind: 'app', app: meshworkApp },
  };
}

export const IMAGE_RULES: readonly ImageRule[] = [
  meshworkImageRule(),
  { pattern: /^istio\/examples-helloworld-(v\d+)$/, example: 'docker.io/istio/examples-helloworld-v1 (or -v2, ...)', run: { kind: 'app', app: helloworld } },
  { pattern: /^(?:registry\.k8s\.io|k8s\.gcr\.io)\/kube-proxy$/, example: 'registry.k8s.io/kube-proxy', run: { kind: 'app', app: kubeProxy } },
  { pattern: /^istio\/tcp-echo-server$/, example: 'docker.io/istio/tcp-echo-server', run: { kind: 'app', app: tcpEcho } },
  { pattern: /^meshwork\/examples-grpc-greeter-(v\d+)$/, example: 'meshwork/examples-grpc-greeter-v1 (or -v2, ...)', run: { kind: 'app', app: grpcGreeter } },
  // Client images of samples: without a command they idle (the kubelet runs nothing but a placeholder).
  { pattern: /^curlimages\/curl$/, example: 'curlimages/curl', run: { kind: 'idle' } },
  { pattern: /^(?:[a-z0-9._-]+\/)*(?:busybox|alpine|curl|sleep|netshoot|ubuntu|debian)$/, example: 'busybox, alpine, curl, sleep, netshoot, ubuntu, debian', run: { kind: 'idle' } },
];

/**
 * 'docker.io/istio/examples-helloworld-v1:1.0' -> 'istio/examples-helloworld-v1';
 * 'index.docker.io/library/busybox@sha256:...' -> 'busybox'.
 */
export function normalizeImage(image: string): string {
  let name = image.trim().toLowerCase();
  const at = name.indexOf('@');
  if (at >= 0) name = name.slice(0, at);
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > lastSlash) name = name.slice(0, colon);
  name = name.replace(/^(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  name = name.replace(/^library\//, '');
  return name;
}

export type ImageMatch = { kind: 'app'; app: BuiltinApp; match: RegExpExecArray } | { kind: 'idle' } | undefined;

export function matchImage(image: string): ImageMatch {
  const name = normalizeImage(image);
  for (const rule of IMAGE_RULES) {
    const match = rule.pattern.exec(name);
    if (!match) continue;
    return rule.run.kind === 'app' ? { kind: 'app', app: rule.run.app, match } : { kind: 'idle' };
  }
  return undefined;
}

/** For error messages: the images this machine can run without a registry. */
export function knownImages(): string {
  return IMAGE_RULES.map((r) => r.example).join('; ');
}
