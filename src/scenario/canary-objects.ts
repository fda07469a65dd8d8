// The objects of the seed's canary use case: cluster-2 "upgraded", helloworld's traffic moved to it step by
// step. A DestinationRule subset per member cluster (Istio's `topology.istio.io/cluster` endpoint label),
// the mesh's VirtualService (what the sleep pods use) and the gateway's (what the MCI edge reaches) routed
// 100 % to cluster-1, and a Canary over both. Pure: shared by `meshwork demo --canary` and the e2e test.
import type { Manifest } from '../k8s/client/manifests.js';
import type { KubeObject } from '../k8s/object.js';
import { CANARY_API_VERSION, CANARY_KIND, type Canary } from '../config/canary/types.js';

const CLUSTER_LABEL = 'topology.istio.io/cluster';

const manifest = (object: unknown, source: string): Manifest => ({ object: object as KubeObject, source });

/** The scenario's subsets v1/v2 kept, plus one per member cluster. */
export function clusterSubsetsRule(clusters: readonly string[]): Manifest {
  return manifest(
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'helloworld', namespace: 'sample' },
      spec: {
        host: 'helloworld',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
          ...clusters.map((c) => ({ name: c, labels: { [CLUSTER_LABEL]: c } })),
        ],
      },
    },
    `DestinationRule sample/helloworld (subsets by ${CLUSTER_LABEL})`,
  );
}

/** helloworld (mesh) and helloworld-gateway (edge) VirtualServices sending everything to one subset. */
export function routedTo(subset: string): Manifest[] {
  return [
    manifest(
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'helloworld', namespace: 'sample' },
        spec: { hosts: ['helloworld'], http: [{ route: [{ destination: { host: 'helloworld', subset }, weight: 100 }] }] },
      },
      `VirtualService sample/helloworld (100 % ${subset})`,
    ),
    manifest(
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'helloworld-gateway', namespace: 'sample' },
        spec: {
          hosts: ['*'],
          gateways: ['helloworld-gateway'],
          http: [{ match: [{ uri: { exact: '/hello' } }], route: [{ destination: { host: 'helloworld', port: { number: 5000 }, subset }, weight: 100 }] }],
        },
      },
      `VirtualService sample/helloworld-gateway (100 % ${subset})`,
    ),
  ];
}

export interface CanaryOptions {
  name?: string;
  baseline: string;
  canary: string;
  interval: string;
  stepWeights: number[];
  successRate?: number;
  threshold?: number;
  minRequests?: number;
}

/** A Canary over both VirtualServices of namespace sample. */
export function helloworldCanary(o: CanaryOptions): Canary {
  return {
    apiVersion: CANARY_API_VERSION,
    kind: CANARY_KIND,
    metadata: { name: o.name ?? 'helloworld', namespace: 'sample' },
    spec: {
      host: 'helloworld',
      virtualServices: ['helloworld', 'helloworld-gateway'],
      baseline: { subset: o.baseline },
      canary: { subset: o.canary },
      analysis: {
        interval: o.interval,
        stepWeights: o.stepWeights,
        threshold: o.threshold ?? 2,
        ...(o.minRequests !== undefined ? { minRequests: o.minRequests } : {}),
        metrics: [{ name: 'request-success-rate', thresholdRange: { min: o.successRate ?? 99 } }],
      },
    },
  };
}
