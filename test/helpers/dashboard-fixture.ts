// A DashboardSource with a fixed two-cluster mesh for tests of the dashboard's server and page: helloworld
// v1 in cluster-1 and v2 in cluster-2, the helloworld service node of each cluster, sleep in both clusters
// (cluster-1's calling both versions, so one edge crosses), the MCI in
// front of both gateways, an 80/20 split, two config changes, a canary. Each collect is one round later:
// rates move, the VirtualService change is ACKed by one more proxy per round; the test moves the canary
// (`canaryStep`), adds more canaries and split panels (`moreCanaries`, `moreSplits`) and can make the next
// collects fail (`failWith`).
import type { CanaryView, DashboardSource, DashboardState, TopologyEdge, TopologyNode } from '../../src/dashboard/model.js';
import type { ConfigChange, ProxyPropagation } from '../../src/controlplane/propagation-report.js';

export const FIXTURE_STEPS = [10, 50, 100];
const T0 = Date.parse('2026-12-03T18:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();

export class FixtureSource implements DashboardSource {
  rounds = 0;
  closed = false;
  canaryStep = 0;
  /** Canaries besides sample/helloworld-v2 (other hosts, all on their first step). */
  moreCanaries = 0;
  /** Split panels besides sample/helloworld#0 (copies for other VirtualServices). */
  moreSplits = 0;
  /** While set, collect throws this message. */
  failWith: string | undefined;

  async collect(): Promise<DashboardState> {
    if (this.failWith !== undefined) throw new Error(this.failWith);
    this.rounds++;
    const state = fixtureState(this.rounds, this.canaryStep, this.moreCanaries);
    const split = state.splits[0]!;
    for (let i = 1; i <= this.moreSplits; i++) state.splits.push({ ...split, id: `sample/service-${i}#0`, virtualService: { ...split.virtualService, name: `service-${i}` } });
    return state;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const HELLO1 = 'svc:cluster-1/helloworld.sample.svc.cluster.local';
const HELLO2 = 'svc:cluster-2/helloworld.sample.svc.cluster.local';
const V1 = 'wl:cluster-1/sample/helloworld-v1';
const V2 = 'wl:cluster-2/sample/helloworld-v2';
const SLEEP1 = 'wl:cluster-1/sample/sleep';
const SLEEP2 = 'wl:cluster-2/sample/sleep';
const GW1 = 'wl:cluster-1/istio-gateway/istio-ingressgateway';
const GW2 = 'wl:cluster-2/istio-gateway/istio-ingressgateway';
const MCI = 'mci:istio-gateway/helloworld';

export const FIXTURE_PROXIES = [
  { cluster: 'cluster-1', pod: 'helloworld-v1-7c9f.sample', kind: 'sidecar' },
  { cluster: 'cluster-1', pod: 'sleep-5d8b.sample', kind: 'sidecar' },
  { cluster: 'cluster-1', pod: 'istio-ingressgateway-6f4d.istio-gateway', kind: 'router' },
  { cluster: 'cluster-2', pod: 'helloworld-v2-86b4.sample', kind: 'sidecar' },
  { cluster: 'cluster-2', pod: 'sleep-77c1.sample', kind: 'sidecar' },
  { cluster: 'cluster-2', pod: 'istio-ingressgateway-9a2e.istio-gateway', kind: 'router' },
] as const;

export function fixtureState(round: number, canaryStep: number, moreCanaries = 0): DashboardState {
  const wobble = (round % 4) / 10;
  const nodes: TopologyNode[] = [
    { id: HELLO1, type: 'service', label: 'helloworld', cluster: 'cluster-1', namespace: 'sample', health: 'healthy' },
    { id: HELLO2, type: 'service', label: 'helloworld', cluster: 'cluster-2', namespace: 'sample', health: 'degraded' },
    { id: V1, type: 'workload', label: 'helloworld-v1', cluster: 'cluster-1', namespace: 'sample', app: 'helloworld', version: 'v1', instances: 1, health: 'healthy' },
    { id: V2, type: 'workload', label: 'helloworld-v2', cluster: 'cluster-2', namespace: 'sample', app: 'helloworld', version: 'v2', instances: 1, health: 'degraded' },
    { id: SLEEP1, type: 'workload', label: 'sleep', cluster: 'cluster-1', namespace: 'sample', app: 'sleep', instances: 1, health: 'healthy' },
    { id: SLEEP2, type: 'workload', label: 'sleep', cluster: 'cluster-2', namespace: 'sample', app: 'sleep', instances: 1, health: 'idle' },
    { id: GW1, type: 'gateway', label: 'istio-ingressgateway', cluster: 'cluster-1', namespace: 'istio-gateway', instances: 1, health: 'healthy' },
    { id: GW2, type: 'gateway', label: 'istio-ingressgateway', cluster: 'cluster-2', namespace: 'istio-gateway', instances: 1, health: 'healthy' },
    {
      id: MCI, type: 'mci', label: 'istio-gateway/helloworld', vip: '127.46.255.1', instances: 2, health: 'healthy',
      backends: [
        { cluster: 'cluster-1', address: '127.46.0.20:8080', healthy: true },
        { cluster: 'cluster-2', address: '127.56.0.20:8080', healthy: true },
      ],
    },
  ];
  const edge = (source: string, target: string, rps: number, extra: Partial<TopologyEdge> = {}): TopologyEdge => ({
    id: `${source}->${target}`, source, target, rps, errorRate: 0, p99Ms: 4, crossCluster: false, security: 'mutual_tls', health: 'healthy', ...extra,
  });
  const edges: TopologyEdge[] = [
    edge(SLEEP1, HELLO1, 9.8 + wobble),
    edge(SLEEP1, HELLO2, 2.5, { crossCluster: true, errorRate: 0.02, p99Ms: 11.6, health: 'degraded' }),
    edge(HELLO1, V1, 12.9 + wobble),
    edge(HELLO2, V2, 5.4, { errorRate: 0.01, p99Ms: 9.3, health: 'degraded' }),
    edge(MCI, GW1, 3.1, { security: 'none', p99Ms: 7.2 }),
    edge(MCI, GW2, 2.9, { security: 'none', p99Ms: 8.4 }),
    edge(GW1, HELLO1, 3.1),
    edge(GW2, HELLO2, 2.9),
  ];
  return {
    collectedAt: iso(round * 2000),
    windowSeconds: 30,
    clusters: [
      { name: 'cluster-1', context: 'cluster-1', controlPlane: { reachable: true, version: '0.1.0', proxies: 3 } },
      { name: 'cluster-2', context: 'cluster-2', controlPlane: { reachable: true, version: '0.1.0', proxies: 3 } },
    ],
    topology: { nodes, edges },
    splits: [
      {
        id: 'sample/helloworld#0',
        virtualService: { namespace: 'sample', name: 'helloworld', cluster: 'cluster-1' },
        routeIndex: 0,
        host: 'helloworld.sample.svc.cluster.local',
        dimension: 'version',
        rows: [
          { key: 'v1', configured: 0.8, observed: 0.793, count: 793 },
          { key: 'v2', configured: 0.2, observed: 0.207, count: 207 },
        ],
        total: 1000,
        verdict: 'PASS',
        pValue: 0.576,
        alpha: 0.001,
      },
    ],
    propagation: [vsChange(round), nackedChange()],
    canaries: [canary(canaryStep), ...Array.from({ length: moreCanaries }, (_, i) => ({ ...canary(0), name: `service-${i + 1}`, host: `service-${i + 1}` }))],
    problems: [],
  };
}

/** The 80/20 VirtualService: its change reaches one more proxy each round until all six ACKed it. */
function vsChange(round: number): ConfigChange {
  const proxies: ProxyPropagation[] = FIXTURE_PROXIES.map((p, i) => {
    const nodeId = `${p.kind}~127.46.0.${10 + i}~${p.pod}~sample.svc.cluster.local`;
    const base = { nodeId, pod: p.pod, cluster: p.cluster, kind: p.kind, sentAt: iso(40) };
    return i < round ? { ...base, state: 'acked' as const, ackedAt: iso(60 + i * 15), latencyMs: 60 + i * 15 } : { ...base, state: 'sent' as const };
  });
  const acked = proxies.filter((p) => p.state === 'acked').length;
  return {
    kind: 'VirtualService', namespace: 'sample', name: 'helloworld', sourceCluster: 'cluster-1', resourceVersion: '4711', generation: 3,
    event: 'MODIFIED', observedAt: iso(0), snapshotVersion: '27',
    proxies,
    summary: { acked, nacked: 0, sent: proxies.length - acked, pending: 0, disconnected: 0 },
    ...(acked === proxies.length ? { completedAt: iso(60 + (proxies.length - 1) * 15) } : {}),
  };
}

function nackedChange(): ConfigChange {
  return {
    kind: 'DestinationRule', namespace: 'sample', name: 'helloworld', sourceCluster: 'cluster-2', resourceVersion: '4690',
    event: 'ADDED', observedAt: iso(-60_000), snapshotVersion: '26',
    proxies: [
      { nodeId: 'sidecar~127.46.0.10~helloworld-v1-7c9f.sample~sample.svc.cluster.local', pod: 'helloworld-v1-7c9f.sample', cluster: 'cluster-1', kind: 'sidecar', state: 'acked', latencyMs: 48, ackedAt: iso(-59_952) },
      { nodeId: 'sidecar~127.56.0.10~helloworld-v2-86b4.sample~sample.svc.cluster.local', pod: 'helloworld-v2-86b4.sample', cluster: 'cluster-2', kind: 'sidecar', state: 'nacked', latencyMs: 52, nackedAt: iso(-59_948), error: 'cluster outbound|5000|v3|helloworld.sample.svc.cluster.local: unknown subset v3' },
    ],
    summary: { acked: 1, nacked: 1, sent: 0, pending: 0, disconnected: 0 },
  };
}

function canary(step: number): CanaryView {
  return {
    namespace: 'sample', name: 'helloworld-v2', cluster: 'cluster-1', phase: step >= FIXTURE_STEPS.length - 1 ? 'Succeeded' : 'Progressing',
    canaryWeight: FIXTURE_STEPS[step]!, steps: FIXTURE_STEPS, stepIndex: step, failedChecks: 0,
    lastAnalysis: [
      { metric: 'request-success-rate', value: 99.6, threshold: 99, passed: true },
      { metric: 'request-duration-p99', value: 12.4, threshold: 500, passed: true },
    ],
    conditions: [{ type: 'Promoted', status: 'False', reason: 'Progressing', message: `advanced to ${FIXTURE_STEPS[step]}%` }],
    updatedAt: iso(step * 12_000),
    host: 'helloworld', baselineSubset: 'v1', canarySubset: 'v2',
    lastVerdict: 'pass', lastReasons: [],
    message: `step ${step + 1}: ${FIXTURE_STEPS[step]}% to v2`,
  };
}
