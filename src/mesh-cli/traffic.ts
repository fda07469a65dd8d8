// `meshwork traffic`: N requests from a pod (ONE exec of real curl in it, through its sidecar when it
// has one), the split of the answers by version, cluster and instance, and a chi-square verdict
// against the weights the applied Istio config declares (the intent, derived without the translator),
// or --expect. Separately, whether the sending proxy's own config gives the same split: a proxy that
// disagrees with the applied config fails the run. Exit 0 on PASS, 1 on FAIL.

import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { loadKubeConfig } from '../k8s/client/client.js';
import { CurlOutputParser, newMarker, writeOutFormat, type Answer } from './answers.js';
import { readAppliedConfig } from './applied-config.js';
import { asProxyResources, parseConfigDump } from './config-dump.js';
import { getJson, locateControlPlane } from './control-plane.js';
import { execInPod } from './exec.js';
import { expectedSplit, groupShares, type SplitDimension, type SplitRequest } from './expected-split.js';
import { sameShares } from './intent/agreement.js';
import { deriveIntent } from './intent/derive.js';
import type { IntentRequest, KnownEndpoint, KnownService } from './intent/model.js';
import { CommandError, errorMessage, outBlock, type CommandIo } from './io.js';
import { appContainer, hasSidecar, parsePodRef, resolvePod } from './pods.js';
import { fetchProxyDump } from './proxy-dump.js';
import { EndpointDirectory, parseRegistry, parseRegistryMesh } from './registry.js';
import { ALL_DIMENSIONS, expectedShares, judgeTraffic, type IntentView, type ProxyView } from './traffic-judgement.js';
import { formatTrafficReport, formatTrafficStructured, type TrafficReport } from './traffic-report.js';
import { parseExpect, tally } from './verdict.js';
import { localKubeconfig } from '../runtime/state.js';

export interface TrafficOptions {
  kubeconfig?: string;
  context?: string;
  stateDir?: string;
  namespace: string;
  /** `pod`, `pod/name` or `deploy/name`. */
  from: string;
  container?: string;
  url: string;
  requests: number;
  /** `v1=80,v2=20`: overrides the shares derived from the mesh config. */
  expect?: string;
  by: SplitDimension;
  maxFailures: number;
  alpha?: number;
  /** Per request (curl --max-time), seconds. */
  requestTimeout: number;
  controlPlaneAddress?: string;
  output: 'table' | 'json' | 'yaml';
  /** The intent to judge against instead of the one derived from the cluster's config (the demo's scenario files). */
  intent?: IntentView;
}

/** curl -K reads `url = "..."`: quotes and backslashes escaped. */
export function curlConfig(url: string, requests: number): string {
  const line = `url = "${url.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\n`;
  return line.repeat(requests);
}

export function curlCommand(marker: string, requestTimeout: number): string[] {
  return ['curl', '-sS', '--max-time', String(requestTimeout), '-w', writeOutFormat(marker), '-K', '-'];
}

/** The Host header curl sends (port only when not the scheme's default) and the path with query. */
export function requestOf(url: string): { host: string; path: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CommandError(`--url "${url}" is not a URL (e.g. http://helloworld.sample:5000/hello)`);
  }
  if (u.protocol !== 'http:') throw new CommandError(`--url ${url}: only http:// URLs go through the sidecar's HTTP proxy listener`);
  return { host: u.host, path: `${u.pathname}${u.search}` };
}

export interface Registry {
  directory: EndpointDirectory;
  services: KnownService[];
  endpoints: KnownEndpoint[];
}

/** The control plane's registry, or why there is none (warned on stderr). */
export async function readRegistry(kc: KubeConfig, controlPlaneAddress: string | undefined, io: CommandIo): Promise<Registry | string> {
  try {
    const cp = await locateControlPlane(kc, controlPlaneAddress ? { address: controlPlaneAddress } : {});
    const body = await getJson(cp.url, '/debug/registry');
    return { directory: new EndpointDirectory(parseRegistry(body)), ...parseRegistryMesh(body) };
  } catch (err) {
    const why = `no endpoint registry from the control plane (${errorMessage(err)})`;
    io.err(`warning: ${why}: instances are not mapped to clusters, versions come from subset names`);
    return why;
  }
}

/** The request as the applied config sees it: curl sends Host, User-Agent and Accept; Envoy adds x-request-id and x-forwarded-proto before routing. */
export function intentRequest(url: string): IntentRequest {
  return { ...requestOf(url), method: 'GET', headers: { accept: '*/*' }, unknownHeaders: ['user-agent', 'x-request-id', 'x-forwarded-proto'] };
}

/** The intent from the Istio config of the pod's cluster (its control plane configures the pod's sidecar from it). */
async function appliedIntent(kc: KubeConfig, pod: V1Pod, opts: TrafficOptions, registry: Registry | string): Promise<IntentView> {
  const from = `applied config (context ${kc.getCurrentContext()})`;
  const view = (intent: IntentView['intent']): IntentView => ({ intent, from, compareBy: ALL_DIMENSIONS });
  if (typeof registry === 'string') return view({ derived: false, reason: registry, notes: [] });
  let config;
  try {
    config = await readAppliedConfig(kc);
  } catch (err) {
    return view({ derived: false, reason: `cannot read the Istio config of context ${kc.getCurrentContext()}: ${errorMessage(err)}`, notes: [] });
  }
  return view(deriveIntent({
    config,
    services: registry.services,
    endpoints: registry.endpoints,
    source: { namespace: pod.metadata?.namespace ?? opts.namespace, labels: pod.metadata?.labels ?? {} },
    request: intentRequest(opts.url),
  }));
}

/** A proxy's own view of a request: its config_dump walked as Envoy would. */
export async function proxyView(kc: KubeConfig, pod: V1Pod, request: SplitRequest, directory: EndpointDirectory | undefined, controlPlaneAddress: string | undefined, io: CommandIo): Promise<ProxyView> {
  const fetched = await fetchProxyDump(kc, pod, controlPlaneAddress ? { controlPlaneAddress } : {});
  if (fetched.fallbackReason) io.err(`note: using the control plane's config for the proxy: ${fetched.fallbackReason}`);
  const source = fetched.source === 'proxy' ? 'proxy' : 'control plane';
  try {
    return { source, split: expectedSplit(asProxyResources(parseConfigDump(fetched.dump)), request, directory) };
  } catch (err) {
    return { source, error: `${errorMessage(err)} (${fetched.url})` };
  }
}

/** Progress on stderr: every 10% for long runs, at most once a second. */
function progressReporter(total: number, io: CommandIo, now: () => number = Date.now): (done: number) => void {
  if (total < 100) return () => undefined;
  let lastAt = now();
  let lastTenth = 0;
  return (done) => {
    const tenth = Math.floor((done * 10) / total);
    if (tenth > lastTenth && now() - lastAt >= 1000) {
      lastAt = now();
      lastTenth = tenth;
      io.err(`${done}/${total} requests`);
    }
  };
}

export async function runTraffic(opts: TrafficOptions, io: CommandIo): Promise<number> {
  return (await measureTraffic(opts, io)).verdict.pass ? 0 : 1;
}

/** Sends the requests, judges them, prints the report and returns it. */
export async function measureTraffic(opts: TrafficOptions, io: CommandIo): Promise<TrafficReport> {
  if (!Number.isInteger(opts.requests) || opts.requests < 1) throw new CommandError('--requests must be a positive integer');
  requestOf(opts.url);
  const expectOverride = opts.expect !== undefined ? parseExpectOrThrow(opts.expect) : undefined;
  const kc = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}), localKubeconfig: localKubeconfig(opts.stateDir) });
  const pod = await resolvePod(kc, parsePodRef(opts.from), opts.namespace);
  const podName = pod.metadata?.name ?? '';
  const sidecar = hasSidecar(pod);
  if (!sidecar && !expectOverride) {
    throw new CommandError(`pod ${opts.namespace}/${podName} has no sidecar (no istio-proxy container): the mesh's routes do not apply to its requests. Give the expected shares with --expect`);
  }
  const container = appContainer(pod, opts.container);
  const registry = await readRegistry(kc, opts.controlPlaneAddress, io);
  const directory = typeof registry === 'string' ? undefined : registry.directory;

  let intent: IntentView | undefined;
  let proxy: ProxyView | undefined;
  if (!expectOverride) {
    intent = opts.intent ?? (await appliedIntent(kc, pod, opts, registry));
    proxy = await proxyView(kc, pod, requestOf(opts.url), directory, opts.controlPlaneAddress, io);
    try {
      expectedShares({ intent, proxy }, opts.by);
    } catch (err) {
      throw new CommandError(`cannot derive the expected split: ${errorMessage(err)}. Give the shares with --expect (e.g. v1=80,v2=20)`);
    }
  }

  const marker = newMarker();
  const parser = new CurlOutputParser(marker);
  const answers: Answer[] = [];
  const progress = progressReporter(opts.requests, io);
  io.err(`sending ${opts.requests} requests from ${opts.namespace}/${podName} (container ${container}) to ${opts.url} ...`);
  const result = await execInPod(kc, {
    namespace: opts.namespace,
    pod: podName,
    container,
    command: curlCommand(marker, opts.requestTimeout),
    stdin: curlConfig(opts.url, opts.requests),
    onStdout: (chunk) => {
      answers.push(...parser.push(chunk));
      progress(answers.length);
    },
    // Worst case every request times out; plus time to start.
    timeoutMs: opts.requests * opts.requestTimeout * 1000 + 30_000,
  });
  if (result.exitCode === 127 || result.exitCode === 126) {
    throw new CommandError(`curl cannot run in ${opts.namespace}/${podName} (container ${container}), exit ${result.exitCode}: ${result.stderr.trim() || result.message || ''}`);
  }
  const leftover = parser.leftover();
  if (answers.length === 0) {
    throw new CommandError(`no answer from curl in ${opts.namespace}/${podName} (exit ${result.exitCode}): ${(result.stderr || leftover).trim().slice(0, 500)}`);
  }
  // Requests curl never reported (it stopped early) count as failed.
  for (let i = answers.length; i < opts.requests; i++) answers.push({ status: 0, curlExit: -1, body: '' });
  if (leftover) io.err(`warning: output after the last answer: ${leftover.slice(0, 200)}`);

  const counted = tally(answers, (instance) => directory?.byPod(instance)?.cluster);
  const judgement = judgeTraffic(counted, { ...(intent ? { intent } : {}), ...(proxy ? { proxy } : {}), ...(expectOverride ? { expect: expectOverride } : {}) }, opts.by, {
    maxFailures: opts.maxFailures,
    ...(opts.alpha !== undefined ? { alpha: opts.alpha } : {}),
  });
  const { verdict } = judgement;
  if (proxy && 'split' in proxy) {
    // The proxy's split was read before sending: a config push during the run (e.g. right after
    // create-mesh, while the remote cluster's endpoints arrive) makes the counts mix two configurations.
    const after = await proxyView(kc, pod, requestOf(opts.url), directory, opts.controlPlaneAddress, io);
    const before = groupShares(proxy.split, opts.by);
    const now = 'split' in after ? groupShares(after.split, opts.by) : after.error;
    if (typeof now === 'string' || !sameShares(before, now)) {
      verdict.pass = false;
      verdict.reasons.push(`the proxy's routing changed while the requests ran (expected ${formatShares(before)} before, ${typeof now === 'string' ? now : formatShares(now)} after): ` +
        'the counts mix both configurations. Run the command again.');
    }
  }
  const report: TrafficReport = {
    from: { pod: podName, namespace: opts.namespace, context: kc.getCurrentContext(), sidecar },
    url: opts.url,
    requests: opts.requests,
    ...judgement,
    ...(intent ? { intent } : {}),
    ...(proxy ? { proxy } : {}),
    tally: counted,
  };
  outBlock(io, opts.output === 'table' ? formatTrafficReport(report) : formatTrafficStructured(report, opts.output));
  return report;
}

function formatShares(shares: ReadonlyMap<string, number>): string {
  return [...shares].map(([name, share]) => `${name}=${(share * 100).toFixed(1)}%`).join(',') || '(nothing)';
}

function parseExpectOrThrow(text: string): Map<string, number> {
  try {
    return parseExpect(text);
  } catch (err) {
    throw new CommandError(errorMessage(err));
  }
}
