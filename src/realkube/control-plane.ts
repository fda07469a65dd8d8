// One cluster's real Kubernetes control plane on loopback: etcd, kube-apiserver and
// kube-controller-manager as child processes of this one, started in that order, each waited for
// (etcd /health, the API server's /readyz, the controller manager's /healthz), stopped by PID in
// reverse order. Addresses follow the local clusters' plan (local/addresses.ts): everything binds
// 127.s.0.1 and the service range is 127.(s+1).0.0/16. etcd speaks plain HTTP on loopback only, as in
// controller-runtime's envtest; the API server and the controller manager serve TLS from <dir>/pki.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { buildKubeconfig } from '../k8s/kubeconfig.js';
import { clusterAddresses } from '../local/addresses.js';
import { stopChild } from '../os/proc.js';
import type { KubeBinaries } from './binaries.js';
import { loadOrCreateControlPlanePki, type ControlPlanePki } from './control-plane-pki.js';

export const API_SERVER_PORT = 6443;
const ETCD_CLIENT_PORT = 2379;
const ETCD_PEER_PORT = 2380;
const CONTROLLER_MANAGER_PORT = 10257;

export interface RealControlPlaneOptions {
  name: string;
  subnetOctet: number;
  /** The cluster's folder: etcd data, pki, logs, kubeconfigs. */
  dir: string;
  binaries: KubeBinaries;
  log: (line: string) => void;
  /** How long each component may take to become ready; 60 s when absent (2 busy cores start kube-apiserver in ~15 s). */
  readyTimeoutMs?: number;
}

export interface RealControlPlane {
  name: string;
  server: string;
  caPem: string;
  /** The admin's bearer token (user `admin`, group system:masters). */
  token: string;
  pki: ControlPlanePki;
  /** PIDs by component, for logs and for stopping them from outside. */
  pids: Record<'etcd' | 'kube-apiserver' | 'kube-controller-manager', number>;
  logDir: string;
  stop(): Promise<void>;
}

interface Component {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited?: string;
}

/** The first address of the service range; kube-apiserver gives it to the `kubernetes` Service. */
export function kubernetesServiceIp(serviceOctet: number): string {
  return `127.${serviceOctet}.0.1`;
}

export async function startRealControlPlane(opts: RealControlPlaneOptions): Promise<RealControlPlane> {
  const addresses = clusterAddresses(opts.subnetOctet);
  const ip = addresses.apiServerIp;
  const serviceRange = `127.${addresses.serviceOctet}.0.0/16`;
  mkdirSync(opts.dir, { recursive: true });
  const logDir = join(opts.dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const pki = await loadOrCreateControlPlanePki({ dir: opts.dir, clusterName: opts.name, apiServerIp: ip, kubernetesServiceIp: kubernetesServiceIp(addresses.serviceOctet) });
  const server = `https://${ip}:${API_SERVER_PORT}`;
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const log = (line: string) => opts.log(`[${opts.name}] ${line}`);

  const controllerManagerKubeconfig = join(opts.dir, 'kube-controller-manager.kubeconfig');
  writeFileSync(
    controllerManagerKubeconfig,
    buildKubeconfig([{ name: 'kube-controller-manager', server, caPem: pki.caPem, token: pki.controllerManagerToken }], 'kube-controller-manager'),
    { mode: 0o600 },
  );

  const started: Component[] = [];
  const stopAll = async () => {
    for (const component of [...started].reverse()) await stopChild(component.child, 10_000);
  };
  try {
    const etcdUrl = `http://${ip}:${ETCD_CLIENT_PORT}`;
    started.push(
      launch(opts.binaries.etcd, 'etcd', logDir, [
        `--name=${opts.name}`,
        `--data-dir=${join(opts.dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://${ip}:${ETCD_PEER_PORT}`,
        `--initial-advertise-peer-urls=http://${ip}:${ETCD_PEER_PORT}`,
        `--initial-cluster=${opts.name}=http://${ip}:${ETCD_PEER_PORT}`,
        '--log-level=warn',
      ]),
    );
    await waitReady(started.at(-1)!, () => probe(`${etcdUrl}/health`), timeoutMs);
    log(`etcd ready on ${etcdUrl}`);

    started.push(
      launch(opts.binaries['kube-apiserver'], 'kube-apiserver', logDir, [
        `--etcd-servers=${etcdUrl}`,
        `--bind-address=${ip}`,
        `--advertise-address=${ip}`,
        `--secure-port=${API_SERVER_PORT}`,
        `--tls-cert-file=${pki.apiserverCert}`,
        `--tls-private-key-file=${pki.apiserverKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--token-auth-file=${pki.tokenFile}`,
        `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
        `--service-account-key-file=${pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        `--service-cluster-ip-range=${serviceRange}`,
        '--authorization-mode=Node,RBAC',
        // The Node authorizer's partner: a node may write only its own Node, Lease and the pods bound to it.
        '--enable-admission-plugins=NodeRestriction',
        `--kubelet-client-certificate=${pki.kubeletClientCert}`,
        `--kubelet-client-key=${pki.kubeletClientKey}`,
        `--kubelet-certificate-authority=${pki.caCert}`,
        '--kubelet-preferred-address-types=InternalIP',
        '--allow-privileged=true',
        '--profiling=false',
        '--v=1',
      ]),
    );
    await waitReady(started.at(-1)!, () => probe(`${server}/readyz`, { ca: pki.caPem, token: pki.adminToken }), timeoutMs);
    log(`kube-apiserver ready on ${server}`);

    started.push(
      launch(opts.binaries['kube-controller-manager'], 'kube-controller-manager', logDir, [
        `--kubeconfig=${controllerManagerKubeconfig}`,
        `--authentication-kubeconfig=${controllerManagerKubeconfig}`,
        `--authorization-kubeconfig=${controllerManagerKubeconfig}`,
        `--bind-address=${ip}`,
        `--secure-port=${CONTROLLER_MANAGER_PORT}`,
        `--tls-cert-file=${pki.controllerManagerCert}`,
        `--tls-private-key-file=${pki.controllerManagerKey}`,
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        `--root-ca-file=${pki.caCert}`,
        `--cluster-signing-cert-file=${pki.caCert}`,
        `--cluster-signing-key-file=${pki.caKey}`,
        `--service-cluster-ip-range=${serviceRange}`,
        `--cluster-name=${opts.name}`,
        '--use-service-account-credentials=true',
        // One controller manager per cluster: nothing to elect, and no lease to wait for at start.
        '--leader-elect=false',
        '--profiling=false',
        '--v=1',
      ]),
    );
    await waitReady(started.at(-1)!, () => probe(`https://${ip}:${CONTROLLER_MANAGER_PORT}/healthz`, { ca: pki.caPem }), timeoutMs);
    log(`kube-controller-manager ready on https://${ip}:${CONTROLLER_MANAGER_PORT}`);
  } catch (err) {
    await stopAll();
    throw err;
  }

  const [etcd, apiserver, controllerManager] = started as [Component, Component, Component];
  return {
    name: opts.name,
    server,
    caPem: pki.caPem,
    token: pki.adminToken,
    pki,
    pids: { etcd: etcd.child.pid!, 'kube-apiserver': apiserver.child.pid!, 'kube-controller-manager': controllerManager.child.pid! },
    logDir,
    stop: stopAll,
  };
}

function launch(binary: string, name: string, logDir: string, args: string[]): Component {
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(binary, args, { stdio: ['ignore', fd, fd] });
    const component: Component = { name, child, logFile };
    child.once('exit', (code, signal) => {
      component.exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
    });
    child.once('error', (err) => {
      component.exited = `could not start: ${err.message}`;
    });
    return component;
  } finally {
    closeSync(fd);
  }
}

async function waitReady(component: Component, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (component.exited) throw new Error(`${component.name} ${component.exited} before it was ready; its log: ${component.logFile}`);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${component.name} was not ready after ${timeoutMs / 1000} s; its log: ${component.logFile}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Whether GET `url` answers 200 (over TLS with `ca` and an optional bearer token). */
function probe(url: string, tls?: { ca: string; token?: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const headers = tls?.token ? { authorization: `Bearer ${tls.token}` } : {};
    const req = tls ? httpsRequest(url, { ca: tls.ca, headers, timeout: 2000 }) : httpRequest(url, { timeout: 2000 });
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}
