// `meshwork traffic`: N requests from a pod (ONE exec of real curl in it, through its sidecar when it
// has one), the split of the answers by version, cluster and instance, and a chi-square verdict
// against the weights the mesh is configured with (or --expect). Exit 0 on PASS, 1 on FAIL.

import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { loadKubeConfig } from '../kubeapi/client.js';
import { CurlOutputParser, newMarker, writeOutFormat, type Answer } from './answers.js';
import { asProxyResources, parseConfigDump } from './config-dump.js';
import { getJson, locateControlPlane } from './control-plane.js';
import { execInPod } from './exec.js';
import { expectedSplit, groupShares, type ExpectedSplit, type SplitDimension } from './expected-split.js';
import { CommandError, errorMessage, outBlock, type CommandIo } from './io.js';
import { appContainer, hasSidecar, parsePodRef, resolvePod } from './pods.js';
import { fetchProxyDump } from './proxy-dump.js';
import { EndpointDirectory, parseRegistry } from './registry.js';
import { formatTrafficReport, formatTrafficStructured, type TrafficReport } from './traffic-report.js';
import { judge, parseExpect, tally } from './verdict.js';

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

async function registryDirectory(kc: KubeConfig, opts: TrafficOptions, io: CommandIo): Promise<EndpointDirectory | undefined> {
  try {
    const cp = await locateControlPlane(kc, opts.controlPlaneAddress ? { address: opts.controlPlaneAddress } : {});
    return new EndpointDirectory(parseRegistry(await getJson(cp.url, '/debug/registry')));
  } catch (err) {
    io.err(`warning: no endpoint registry from the control plane (${errorMessage(err)}): instances are not mapped to clusters, versions come from subset names`);
    return undefined;
  }
}

async function meshSplit(kc: KubeConfig, pod: V1Pod, opts: TrafficOptions, directory: EndpointDirectory | undefined, io: CommandIo): Promise<{ split: ExpectedSplit; source: TrafficReport['expectedFrom'] }> {
  const fetched = await fetchProxyDump(kc, pod, opts.controlPlaneAddress ? { controlPlaneAddress: opts.controlPlaneAddress } : {});
  if (fetched.fallbackReason) io.err(`note: using the control plane's config for the proxy: ${fetched.fallbackReason}`);
  let split: ExpectedSplit;
  try {
    split = expectedSplit(asProxyResources(parseConfigDump(fetched.dump)), requestOf(opts.url), directory);
  } catch (err) {
    throw new CommandError(`cannot derive the expected split from ${fetched.url}: ${errorMessage(err)}. Give the shares with --expect (e.g. v1=80,v2=20)`);
  }
  return { split, source: fetched.source === 'proxy' ? 'mesh config (proxy)' : 'mesh config (control plane)' };
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
  if (!Number.isInteger(opts.requests) || opts.requests < 1) throw new CommandError('--requests must be a positive integer');
  requestOf(opts.url);
  const expectOverride = opts.expect !== undefined ? parseExpectOrThrow(opts.expect) : undefined;
  const kc = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}), ...(opts.stateDir ? { stateDir: opts.stateDir } : {}) });
  const pod = await resolvePod(kc, parsePodRef(opts.from), opts.namespace);
  const podName = pod.metadata?.name ?? '';
  const sidecar = hasSidecar(pod);
  if (!sidecar && !expectOverride) {
    throw new CommandError(`pod ${opts.namespace}/${podName} has no sidecar (no istio-proxy container): the mesh's routes do not apply to its requests. Give the expected shares with --expect`);
  }
  const container = appContainer(pod, opts.container);
  const directory = await registryDirectory(kc, opts, io);

  let split: ExpectedSplit | undefined;
  let expectedFrom: TrafficReport['expectedFrom'] = '--expect';
  let expected: ReadonlyMap<string, number>;
  if (expectOverride) {
    expected = expectOverride;
  } else {
    const mesh = await meshSplit(kc, pod, opts, directory, io);
    split = mesh.split;
    expectedFrom = mesh.source;
    expected = groupShares(mesh.split, opts.by);
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
  const verdict = judge(counted, expected, opts.by, { maxFailures: opts.maxFailures, ...(opts.alpha !== undefined ? { alpha: opts.alpha } : {}) });
  if (split) {
    // The expected shares were read before sending: a config push during the run (e.g. right after
    // create-mesh, while the remote cluster's endpoints arrive) makes the counts mix two configurations.
    const after = groupShares((await meshSplit(kc, pod, opts, directory, io)).split, opts.by);
    if (!sameShares(expected, after)) {
      verdict.pass = false;
      verdict.reasons.push(`the proxy's routing changed while the requests ran (expected ${formatShares(expected)} before, ${formatShares(after)} after): ` +
        'the counts mix both configurations. Run the command again.');
    }
  }
  const report: TrafficReport = {
    from: { pod: podName, namespace: opts.namespace, context: kc.getCurrentContext(), sidecar },
    url: opts.url,
    requests: opts.requests,
    expectedFrom,
    ...(split ? { split } : {}),
    expected,
    tally: counted,
    verdict,
  };
  outBlock(io, opts.output === 'table' ? formatTrafficReport(report) : formatTrafficStructured(report, opts.output));
  return verdict.pass ? 0 : 1;
}

function sameShares(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].every((name) => Math.abs((a.get(name) ?? 0) - (b.get(name) ?? 0)) < 1e-9);
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
