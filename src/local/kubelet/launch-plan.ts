// What process a container becomes on this machine: a built-in app (by image), a real command found on
// this machine, an idle placeholder for tool images, or nothing (reported as an image pull error).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { knownImages, matchImage } from '../apps/catalog.js';
import type { Container } from './pod-types.js';

export type LaunchPlan =
  | {
      kind: 'process';
      argv: string[];
      imageID: string;
      /** Built-in apps exit on stdin EOF, so they die with the kubelet; they get a stdin pipe for that. */
      exitWithKubelet: boolean;
      /** For built-in servers: the container counts as started once this port accepts connections. */
      readyPort?: number;
    }
  | { kind: 'unavailable'; message: string };

/** Absolute path of an executable file, or undefined. Names with a slash are taken as paths (relative to cwd). */
export function resolveExecutable(name: string, path: string, cwd: string): string | undefined {
  if (name === '') return undefined;
  const candidates = name.includes('/') ? [isAbsolute(name) ? name : join(cwd, name)] : path.split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch (err) {
      // ENOENT/EACCES are the normal "not here" answers while walking PATH; anything else is worth knowing.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EACCES' && code !== 'ENOTDIR') throw err;
    }
  }
  return undefined;
}

/**
 * The Node flags to start a sibling TypeScript/JavaScript module with: only the module loaders of
 * this process (tsx under tests) carry over; test-runner, debugger and other flags do not. Apps run
 * in their pod's directory, so bare loader names (`--import tsx`) are resolved from here.
 */
export function nodeLoaderArgs(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const joined = /^(--import|--require|--loader|--experimental-loader)=(.*)$/.exec(arg);
    if (joined) out.push(`${joined[1]}=${resolveSpecifier(joined[2])}`);
    else if (LOADER_FLAGS.has(arg) && i + 1 < argv.length) out.push(arg, resolveSpecifier(argv[++i]));
    else if (arg === '--enable-source-maps' || arg === '--no-warnings') out.push(arg);
  }
  return out;
}

const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

function resolveSpecifier(specifier: string): string {
  if (/^(\.|\/|file:|data:|node:)/.test(specifier)) return specifier;
  return import.meta.resolve(specifier);
}

export function planContainer(container: Container, env: Readonly<Record<string, string>>, cwd: string): LaunchPlan {
  const image = container.image ?? '';
  const path = env.PATH ?? '';
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  const matched = matchImage(image);
  // An explicit command wins over the image's own program, as in a real container; an image without
  // a program of its own (tool or unknown image) runs its args as the command, as Docker does.
  const hasCommand = (container.command?.length ?? 0) > 0;
  const runsCommand = hasCommand || (matched?.kind !== 'app' && argv.length > 0);
  if (runsCommand) {
    const exe = resolveExecutable(argv[0], path, cwd);
    if (exe) return { kind: 'process', argv: [exe, ...argv.slice(1)], imageID: `meshwork-host://${exe}`, exitWithKubelet: false };
    return {
      kind: 'unavailable',
      message:
        `image ${JSON.stringify(image)} is not a built-in app of the local kubelet and its command ${JSON.stringify(argv[0])} ` +
        `is not an executable on this machine (PATH=${path}); built-in images: ${knownImages()}`,
    };
  }
  if (matched?.kind === 'app') {
    const port = container.ports?.[0]?.containerPort ?? matched.app.defaultPort;
    return {
      kind: 'process',
      argv: [process.execPath, ...nodeLoaderArgs(), fileURLToPath(matched.app.module), ...matched.app.args(matched.match, port, container.args ?? [])],
      imageID: `meshwork-builtin://${matched.app.name}`,
      exitWithKubelet: true,
      // Started once the port its readiness probe checks (else its first port) accepts connections:
      // a sidecar declares its metrics port first but answers on its status port first.
      readyPort: probePort(container) ?? port,
    };
  }
  if (matched?.kind === 'idle') {
    // `cat` on a stdin pipe that nobody writes: idles, and exits at EOF when the kubelet goes away.
    const cat = resolveExecutable('cat', path, cwd) ?? resolveExecutable('cat', '/usr/bin:/bin', cwd);
    if (!cat) return { kind: 'unavailable', message: 'the idle placeholder needs `cat`, which is not on this machine' };
    return { kind: 'process', argv: [cat], imageID: 'meshwork-builtin://idle', exitWithKubelet: true };
  }
  return {
    kind: 'unavailable',
    message: `image ${JSON.stringify(image)} is neither a built-in app of the local kubelet nor given with a command found on this machine; built-in images: ${knownImages()}`,
  };
}

function probePort(container: Container): number | undefined {
  const port = container.readinessProbe?.httpGet?.port ?? container.readinessProbe?.tcpSocket?.port;
  return typeof port === 'number' ? port : undefined;
}
