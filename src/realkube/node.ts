// A node joining one real cluster (control-plane.ts): the process kubelet over the real API server.
import type { Kubelet } from '../local/kubelet/kubelet.js';
import type { RealControlPlane } from './control-plane.js';

export interface RealNodeOptions {
  cluster: RealControlPlane;
  /** e.g. `${cluster.name}-node` */
  nodeName: string;
  /** The cluster's pod subnet octet (the local clusters' address plan). */
  subnetOctet: number;
  /** Kubelet logs, pids, pod dirs. */
  stateDir: string;
  log: (line: string) => void;
}

export interface RealNode {
  nodeName: string;
  kubelet: Kubelet;
  stop(): Promise<void>;
}

/** Resolves when the Node is Ready and the kubelet's watch is running. */
export async function startRealNode(opts: RealNodeOptions): Promise<RealNode> {
  throw new Error(`startRealNode(${opts.nodeName}): joining a node to the real API server is not built yet`);
}
