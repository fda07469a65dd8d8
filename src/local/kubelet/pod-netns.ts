// What the kubelet does differently for a pod in a network namespace of its own (iptables interception):
// which pods get one, as which user each container runs (its securityContext, as a container runtime
// would: istio-init as root, the proxy as 1337, whose traffic the capture rules let through), and how
// the kubelet's own checks (probes, "is the port open yet") run inside the pod's namespace, where the
// pod's own calls are not captured, as a real kubelet's probes reach the app through the pod's network.
import { spawn } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INTERCEPTION_MODE_ANNOTATION } from '../../config/interception.js';
import { SIDECAR_CONTAINER } from '../../registry/build.js';
import { nodeLoaderArgs } from './launch-plan.js';
import { inPodNamespace } from './pod-network.js';
import type { Container, Pod, Probe } from './pod-types.js';
import type { ProbeResult } from './probe.js';

const PROBE_ENTRY = fileURLToPath(new URL(`./netns-probe-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/**
 * A pod gets a network namespace of its own when its sidecar captures its traffic with iptables (the
 * injector's REDIRECT), and when it is a gateway (its proxy alone): a proxy on loopback binds its
 * upstream connections to its 127/8 pod IP, from which Linux routes nothing to the bridge, so it could
 * not reach captured pods. Not for hostNetwork pods.
 */
export function wantsOwnNetwork(pod: Pod): boolean {
  const spec = pod.spec as Pod['spec'] & { hostNetwork?: boolean };
  if (spec.hostNetwork === true) return false;
  const gateway = spec.containers.length === 1 && spec.containers[0]!.name === SIDECAR_CONTAINER && (spec.initContainers ?? []).length === 0;
  return gateway || pod.metadata.annotations?.[INTERCEPTION_MODE_ANNOTATION] === 'REDIRECT';
}

interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
}

/** The uid/gid a container runs as: its securityContext, else the pod's; undefined = root (the kubelet's own user). */
export function containerUser(pod: Pod, container: Container): { uid: number; gid: number } | undefined {
  const own = (container as Container & { securityContext?: SecurityContext }).securityContext;
  const podLevel = (pod.spec as Pod['spec'] & { securityContext?: SecurityContext }).securityContext;
  const uid = own?.runAsUser ?? podLevel?.runAsUser;
  const gid = own?.runAsGroup ?? podLevel?.runAsGroup ?? uid;
  if (uid === undefined || uid === 0) return gid === undefined || gid === 0 ? undefined : { uid: 0, gid };
  return { uid, gid: gid ?? uid };
}

/** argv of `argv` inside the pod's namespace as the container's user. */
export function inPodNetwork(netns: string, user: { uid: number; gid: number } | undefined, argv: readonly string[]): string[] {
  return inPodNamespace(netns, argv, user);
}

/**
 * An httpGet or tcpSocket probe run from inside the pod's namespace (a child process there runs probe.ts
 * and prints its result), so the kubelet reaches the app as a pod-local caller: not captured, not
 * refused by STRICT mTLS.
 */
export function runProbeInNetns(netns: string, probe: Probe, host: string, container: Container, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const argv = inPodNamespace(netns, [process.execPath, ...nodeLoaderArgs(), PROBE_ENTRY, JSON.stringify({ probe, host, container: { name: container.name, ports: container.ports ?? [] }, timeoutMs })]);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `probe in network namespace ${netns}: ${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out) as ProbeResult);
      } catch {
        resolve({ ok: false, message: `probe in network namespace ${netns} exited ${code}: ${(err || out).trim().slice(0, 500)}` });
      }
    });
  });
}
