// Locality failover across clusters, with and without outlierDetection (Istio fails over only with it,
// istio#48084): helloworld v1 runs in both clusters; cluster-1's sleep calls it through its sidecar.
// With a DestinationRule whose failoverPriority is the cluster, cluster-1's sleep is served by
// cluster-1 only; when cluster-1's v1 pods go away (the Deployment scaled to 0: what a rollout gone
// wrong or a drained node looks like to the mesh, and the pods are not restarted behind the test's back
// as killed processes would be), its requests move to cluster-2 within 5 s with < 1 % failed, and
// return local once the pods are back. Retries may leave the locality (retryRemoteLocalities), so
// requests in flight while the pods stop are retried remotely. Requests are sent from the host through the sleep pod's
// sidecar (its outbound HTTP proxy port, as the app's http_proxy), one at a time, each timestamped.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { E2E_DATA_PLANE, MeshworkEnv } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { until } from '../helpers/until.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const HELLO = 'http://helloworld.sample:5000/hello';
const ANSWER = /^Hello version: v1, instance: (\S+)$/;

interface Answer {
  at: number;
  status: number;
  instance: string;
  /** What a failed request got (status and body start, or the error). */
  failure?: string;
}

const ruleYaml = (outlierDetection: boolean) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld.sample.svc.cluster.local
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
      localityLbSetting:
        failoverPriority: [topology.istio.io/cluster]
${outlierDetection ? '    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100}\n' : ''}`;

/**
 * Retries that may leave the caller's locality (Istio's retryRemoteLocalities: Envoy's
 * previous_priorities, every second attempt), on resets too: the requests in flight while cluster-1's
 * pods stop, before their endpoints are UNHEALTHY at the caller, are retried in cluster-2. Without it
 * both retries go to cluster-1's (stopping) pods and those requests fail.
 */
const RETRY_REMOTE = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld.sample.svc.cluster.local]
  http:
  - route: [{destination: {host: helloworld.sample.svc.cluster.local}}]
    retries: {attempts: 2, retryOn: "connect-failure,refused-stream,reset,503", retryRemoteLocalities: true}
`;

/** GET through a sidecar's outbound HTTP proxy port (absolute-form, as curl with http_proxy sends it). */
function viaSidecar(sidecar: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: sidecar, port: 15001, path: HELLO, headers: { host: 'helloworld.sample:5000' }, agent, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

/** Requests one after another (a pause of `gapMs` between them) until stopped. */
function load(sidecar: string, gapMs = 5): { answers: Answer[]; stop(): Promise<void> } {
  const answers: Answer[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      const { status, body } = await viaSidecar(sidecar, agent);
      answers.push({ at, status, instance: ANSWER.exec(body.trim())?.[1] ?? '', ...(status === 200 ? {} : { failure: `${status} ${body.trim().slice(0, 100)}` }) });
      await sleep(gapMs);
    }
  })();
  return {
    answers,
    async stop() {
      stopped = true;
      await loop;
      agent.destroy();
    },
  };
}

/**
 * From `from` on: when the answers settled on `settled` instances for good (the first request from
 * which every later one is answered by them, until `to`), and how many failed on the way.
 */
function settle(answers: readonly Answer[], from: number, to: number, settled: (instance: string) => boolean): { afterMs: number | undefined; requests: number; failed: number; failures: string[] } {
  const window = answers.filter((a) => a.at >= from && a.at < to);
  let start: number | undefined;
  for (let i = window.length - 1; i >= 0; i--) {
    if (window[i].status !== 200 || !settled(window[i].instance)) break;
    start = window[i].at;
  }
  const failures = window.filter((a) => a.status !== 200);
  return { afterMs: start === undefined ? undefined : start - from, requests: window.length, failed: failures.length, failures: failures.map((a) => `+${a.at - from} ms: ${a.failure}`) };
}

describe(`locality failover across clusters (${E2E_DATA_PLANE} data plane)`, { timeout: 600_000 }, () => {
  const env = new MeshworkEnv(2);
  let sleepIp = '';
  let remote = new Set<string>();

  const podNames = async (context: string): Promise<string[]> =>
    (await env.kubectlOk(context, ['get', 'pods', '-n', 'sample', '-l', 'app=helloworld,version=v1', '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ').filter(Boolean);

  /** `n` requests from cluster-1's sleep: the instances that answered, or why not. */
  const sample = async (n: number): Promise<string[]> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const { status, body } = await viaSidecar(sleepIp, agent);
      out.push(status === 200 ? ANSWER.exec(body.trim())?.[1] ?? body : `${status} ${body.slice(0, 80)}`);
    }
    agent.destroy();
    return out;
  };

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    const mesh = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(mesh.code, 0, mesh.stderr + mesh.stdout);
    const helloworld = join(scenarioDir(), 'helloworld.yaml');
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx);
      // v1 in both clusters (cluster-2 runs v2 in the scenario: it is replaced here).
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', helloworld, '-l', 'version=v1']);
      await env.kubectlOk(ctx, ['delete', 'deployment', '-n', 'sample', 'helloworld-v2', '--ignore-not-found']);
      await env.kubectlOk(ctx, ['scale', 'deployment', '-n', 'sample', 'helloworld-v1', '--replicas=2']);
    }
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', '-'], RETRY_REMOTE);
    for (const ctx of CONTEXTS) await env.waitPodsReady(ctx, 'sample', 'app=helloworld,version=v1', 2, 90_000);
    await env.waitPodsReady('cluster-1', 'sample', 'app=sleep', 2, 90_000);
    sleepIp = (await env.kubectlOk('cluster-1', ['get', 'pods', '-n', 'sample', '-l', 'app=sleep', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
    remote = new Set(await podNames('cluster-2'));
    assert.equal(remote.size, 2);
    // Without a rule, cluster-1's sleep spreads over both clusters (Istio's multi-cluster default).
    await until('both clusters answering cluster-1\'s sleep', 30_000, async () => {
      const answers = await sample(40);
      return answers.some((i) => remote.has(i)) && answers.some((i) => !remote.has(i) && !/^\d{3} /.test(i)) ? true : undefined;
    });
  });

  after(() => env.cleanup());

  for (const outlierDetection of [false, true]) {
    const variant = outlierDetection ? 'with outlierDetection' : 'without outlierDetection';
    test(`${variant}: cluster-1's v1 pods gone -> cluster-1's sleep fails over to cluster-2 within 5 s, < 1 % failed; back local once they return`, async (t) => {
      for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', '-'], ruleYaml(outlierDetection));
      await until('cluster-1\'s sleep served by cluster-1 only', 30_000, async () => ((await sample(40)).every((i) => !remote.has(i) && !/^\d{3} /.test(i)) ? true : undefined));

      const analyze = await env.meshwork(['analyze', '--context', 'cluster-1', '-n', 'sample']);
      if (outlierDetection) assert.doesNotMatch(analyze.stdout, /MW0005/, analyze.stdout);
      else assert.match(analyze.stdout, /^Info \[MW0005\] \(DestinationRule sample\/helloworld\) locality failover applies without outlierDetection/m, analyze.stdout);

      const run = load(sleepIp);
      await sleep(2_000);
      const t0 = Date.now();
      await env.kubectlOk('cluster-1', ['scale', 'deployment', '-n', 'sample', 'helloworld-v1', '--replicas=0']);
      await until('cluster-1\'s v1 pods gone', 60_000, async () => ((await podNames('cluster-1')).length === 0 ? true : undefined));
      await sleep(3_000);
      const tBack = Date.now();
      await env.kubectlOk('cluster-1', ['scale', 'deployment', '-n', 'sample', 'helloworld-v1', '--replicas=2']);
      await env.waitPodsReady('cluster-1', 'sample', 'app=helloworld,version=v1', 2, 90_000);
      const ready = Date.now();
      await until('answers local again', 30_000, async () => {
        const recent = run.answers.slice(-50);
        return recent.length === 50 && recent.every((a) => a.at > ready && a.status === 200 && !remote.has(a.instance)) ? true : undefined;
      }).catch(async (err: Error) => {
        await run.stop();
        throw err;
      });
      await sleep(1_000);
      await run.stop();

      const out = settle(run.answers, t0, tBack, (i) => remote.has(i));
      const back = settle(run.answers, tBack, Date.now(), (i) => i !== '' && !remote.has(i));
      const line = `${E2E_DATA_PLANE}, ${variant}: failover to cluster-2 ${out.afterMs ?? 'never'} ms after the scale-down, ` +
        `${out.failed} of ${out.requests} requests failed (${((100 * out.failed) / Math.max(1, out.requests)).toFixed(2)} %); ` +
        `back local ${back.afterMs ?? 'never'} ms after the scale-up (pods seen ready after ${ready - tBack} ms), ${back.failed} of ${back.requests} failed on the way back` +
        `${[...out.failures, ...back.failures].length > 0 ? `; failures: ${[...out.failures, ...back.failures].join('; ')}` : ''}`;
      t.diagnostic(line);
      console.log(`  ${line}`);
      assert.ok(out.afterMs !== undefined && out.afterMs < 5_000, line);
      assert.ok(out.failed / out.requests < 0.01, line);
      assert.ok(back.afterMs !== undefined, line);
      assert.ok(back.failed / back.requests < 0.01, line);
    });
  }

  test('no proxy NACKed the locality config', async () => {
    await env.assertDataPlaneAcceptedEverything(CONTEXTS);
  });
});
