// Envoy is the oracle for the translator: every translation of the scenario (and of a wide Istio
// config) is pushed over our real ADS server (SotW and delta) to a real Envoy, which must accept it
// all (no NACK, no rejected update) and end up LIVE with the listeners, routes and clusters we sent.

import { CREDENTIAL_NAME_PREFIX } from '../security/secrets.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { V1Ingress } from '@kubernetes/client-node';
import { toXdsSnapshot } from '../controlplane/proxy-resources.js';
import { createCertificateAuthority, issueServerCertificate } from '../security/pki/authority.js';
import { credentialOf, type GatewayCredential } from '../security/credentials.js';
import { DEFAULT_INGRESS_SETTINGS, ISTIO_INGRESS_CONTROLLER } from '../ingress/class.js';
import { convertIngresses } from '../registry/ingress.js';
import { asProxyResources, parseConfigDump } from '../mesh-cli/config-dump.js';
import type { ProxyResources } from '../translate/envoy-types.js';
import { simulate, type SimulationResult } from '../translate/simulate.js';
import { buildSnapshot, MISSING_SUBSET_CANARY, parseYaml, proxyFor, scenarioClusters, type ScenarioRule } from '../translate/testdata/fixture.js';
import { MeshTranslator } from '../translate/translate.js';
import { SnapshotCache } from '../xds/cache.js';
import { startXdsServer, type RunningXdsServer } from '../xds/server.js';
import { NO_ENVOY, startTestEnvoy, testEnvoyPath, waitForEnvoySync } from './testdata/live-envoy.js';
import { meshSecrets, startTestSds, type TestSds } from './testdata/test-sds.js';

const envoyPath = testEnvoyPath();

/** Istio config beyond the scenario: what a user writes next to it, every translated field once. */
const WIDE_CONFIG = `
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST, localityLbSetting: {distribute: [{from: "local/*", to: {"local/cluster-1": 70, "local/cluster-2": 30}}]}}
    connectionPool: {tcp: {maxConnections: 100, connectTimeout: 2s}, http: {http1MaxPendingRequests: 10, http2MaxRequests: 50, maxRetries: 4}}
    outlierDetection: {consecutive5xxErrors: 3, consecutiveGatewayErrors: 2, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 50}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {loadBalancer: {simple: RANDOM}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {loadBalancer: {localityLbSetting: {failoverPriority: [topology.istio.io/cluster], failover: [{from: local, to: other}]}}}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - name: exact-and-headers
    match:
    - uri: {exact: /hello}
      headers: {end-user: {exact: jason}, x-prefix: {prefix: ab}, x-re: {regex: "v[0-9]+"}}
      queryParams: {debug: {exact: "1"}}
      method: {exact: GET}
    route:
    - destination: {host: helloworld, subset: v2}
    fault: {abort: {httpStatus: 503, percentage: {value: 12.5}}, delay: {fixedDelay: 1.5s, percentage: {value: 10}}}
  - name: canary
    match: [{uri: {prefix: /hello}}, {uri: {regex: "/api/v[0-9]+/.*"}, ignoreUriCase: true}]
    route:
    - destination: {host: helloworld, subset: v1}
      weight: 75
      headers: {request: {set: {x-version: v1}, add: {x-added: yes}, remove: [x-drop]}, response: {set: {x-served-by: v1}}}
    - destination: {host: helloworld, subset: v2}
      weight: 25
    timeout: 2.5s
    retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "gateway-error,connect-failure,503", retryRemoteLocalities: true}
    rewrite: {uri: /v2/hello, authority: backend}
    mirror: {host: sleep}
    mirrorPercentage: {value: 50}
    headers: {request: {set: {x-route: canary}}, response: {remove: [server]}}
  - name: moved
    match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: example.com, redirectCode: 301}
  - name: default
    route:
    - destination: {host: helloworld}
`;

/** Istio's merge and precedence cases: two gateway VirtualServices for "*", a canary share to a subset that does not exist. */
const MERGE_CONFIG = `
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: everything-else, creationTimestamp: "2020-01-01T00:00:00Z"}
spec:
  hosts: ["*"]
  gateways: [helloworld-gateway]
  http:
  - match: [{uri: {prefix: /canary}}]
    route:
    - {destination: {host: helloworld, subset: v1}, weight: 80}
    - {destination: {host: helloworld, subset: v3}, weight: 20}
  - route: [{destination: {host: helloworld, subset: v2}}]
---
${MISSING_SUBSET_CANARY}`;

/** A duplicate subset name, and DestinationRules for the same host in the root and another namespace. */
const PRECEDENCE_CONFIG = `
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v1, labels: {version: v2}, trafficPolicy: {loadBalancer: {simple: RANDOM}}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld-mesh-default, namespace: istio-system}
spec:
  host: helloworld.sample.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
  subsets: [{name: v9, labels: {version: v9}}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld-elsewhere, namespace: elsewhere}
spec:
  host: helloworld.sample.svc.cluster.local
  subsets: [{name: v8, labels: {version: v8}}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - route:
    - {destination: {host: helloworld, subset: v1}, weight: 50}
    - {destination: {host: helloworld, subset: v2}, weight: 50}
`;

/** DestinationRule balancing: consistent hashing of every kind, every connection pool field, warmup, local-origin outlier split, port-level settings. */
const BALANCING_CONFIG = `
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy:
    loadBalancer: {consistentHash: {httpCookie: {name: user, path: /, ttl: 60s}, ringHash: {minimumRingSize: 2048}}}
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 2s, tcpKeepalive: {probes: 3, time: 60s, interval: 10s}, maxConnectionDuration: 1h, idleTimeout: 30s}
      http: {http1MaxPendingRequests: 10, http2MaxRequests: 50, maxRequestsPerConnection: 5, maxRetries: 4, idleTimeout: 20s, h2UpgradePolicy: UPGRADE}
    outlierDetection: {consecutive5xxErrors: 3, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2, interval: 5s}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 251}}}}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer: {simple: LEAST_REQUEST, warmupDurationSecs: 30s}
      connectionPool: {http: {useClientProtocol: true}}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: sleep}
spec:
  host: sleep
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN, warmupDurationSecs: 10s}
    portLevelSettings: [{port: {number: 80}, loadBalancer: {consistentHash: {httpQueryParameterName: u, minimumRingSize: 512}}}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - match: [{uri: {prefix: /pinned}}]
    route: [{destination: {host: helloworld, subset: v1}}]
  - route:
    - {destination: {host: helloworld, subset: v1}, weight: 50}
    - {destination: {host: helloworld, subset: v2}, weight: 50}
`;

/** Kubernetes Ingresses of Istio's class (converted as the control plane converts them): every path type, and TLS. */
const INGRESS_CONFIG = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: sample}
spec:
  ingressClassName: istio
  tls: [{hosts: [secure.example.com], secretName: web-cert}]
  rules:
  - http:
      paths:
      - {path: /hello, pathType: Prefix, backend: {service: {name: helloworld, port: {number: 5000}}}}
      - {path: /hello/exact, pathType: Exact, backend: {service: {name: helloworld, port: {number: 5000}}}}
      - {path: /static/*, pathType: ImplementationSpecific, backend: {service: {name: helloworld, port: {number: 5000}}}}
  - host: "*.example.org"
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: helloworld, port: {number: 5000}}}}
`;

/** TCP and TLS: gateway TCP and TLS PASSTHROUGH servers, mesh tcp/tls routes as CONNECT routes. */
const L4_CONFIG = `
apiVersion: v1
kind: Service
metadata: {name: tcp-echo}
spec:
  selector: {app: tcp-echo}
  ports: [{name: tcp, port: 9000}, {name: tls, port: 9443}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: tcp-echo}
spec:
  host: tcp-echo
  trafficPolicy: {connectionPool: {tcp: {idleTimeout: 30s}}}
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: l4-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 31400, name: tcp, protocol: TCP}, hosts: ['*']}
  - {port: {number: 8443, name: tls, protocol: TLS}, hosts: ['*.example.com'], tls: {mode: PASSTHROUGH}}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: tcp-echo}
spec:
  hosts: [tcp-echo, '*.example.com']
  gateways: [mesh, l4-gw]
  tcp:
  - match: [{port: 9000, sourceLabels: {app: sleep}}]
    route: [{destination: {host: tcp-echo, subset: v1, port: {number: 9000}}, weight: 70}, {destination: {host: tcp-echo, subset: v2, port: {number: 9000}}, weight: 30}]
  - route: [{destination: {host: tcp-echo, port: {number: 9000}}}]
  tls:
  - match: [{sniHosts: [a.example.com, tcp-echo.sample.svc.cluster.local]}]
    route: [{destination: {host: tcp-echo, subset: v1, port: {number: 9443}}}]
  - match: [{sniHosts: ['*.wild.example.com']}]
    route: [{destination: {host: tcp-echo, subset: v2, port: {number: 9443}}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: helloworld}
spec:
  selector: {matchLabels: {app: helloworld}}
  rules:
  - from:
    - source: {principals: [cluster.local/ns/sample/sa/sleep, '*/sa/admin', 'cluster.local/*'], notPrincipals: ['*'], namespaces: [sample, 'test-*'], notNamespaces: [evil]}
    - source: {ipBlocks: [10.0.0.0/8, 127.0.0.1], notIpBlocks: [10.1.0.0/16], remoteIpBlocks: [203.0.113.0/24], requestPrincipals: ['*'], notRequestPrincipals: [x/y]}
    to:
    - operation: {hosts: [helloworld, '*.example.com', 'api.*', '*'], notHosts: [bad.example.com], methods: [GET, '*'], notMethods: [DELETE], paths: [/exact, '/prefix*', '*.png', '*'], notPaths: [/admin], ports: ['5000'], notPorts: ['1']}
    when:
    - {key: 'request.headers[x-token]', values: [secret, 'pre-*', '*'], notValues: [revoked]}
    - {key: source.ip, values: [127.0.0.0/8]}
    - {key: destination.ip, notValues: [10.9.9.9]}
    - {key: connection.sni, values: ['*.example.com']}
    - {key: 'request.auth.claims[iss]', values: ['https://issuer']}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-deny, namespace: istio-system}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ['/debug*'], methods: [POST]}}]}, {from: [{source: {notPrincipals: ['*']}}], to: [{operation: {ports: ['9999']}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit, namespace: istio-system}
spec:
  action: AUDIT
  rules: [{to: [{operation: {paths: ['/user/*']}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: gateway, namespace: istio-gateway}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  rules: [{from: [{source: {remoteIpBlocks: [0.0.0.0/0]}}]}, {to: [{operation: {hosts: ['*.example.com']}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: nothing, namespace: istio-gateway}
spec: {}
`;

/** HTTPS servers: two on 443 (SIMPLE, MUTUAL) by SNI, the HTTP server redirecting; their Secrets in the gateway's namespace. */
const HTTPS_CONFIG = `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: https-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http-redirect, protocol: HTTP}
    hosts: [a.example.com]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https-a, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, credentialName: a-cert, minProtocolVersion: TLSV1_2}
  - port: {number: 443, name: https-b, protocol: HTTPS}
    hosts: [b.example.com]
    tls: {mode: MUTUAL, credentialName: b-cert, subjectAltNames: [client.example.com]}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: https-hello}
spec:
  hosts: [a.example.com, b.example.com]
  gateways: [https-gw]
  http: [{route: [{destination: {host: helloworld}}]}]
`;

let httpsCredentials: GatewayCredential[] = [];

async function makeHttpsCredentials(): Promise<GatewayCredential[]> {
  const ca = await createCertificateAuthority('test root');
  const secret = async (name: string, host: string, withCa: boolean): Promise<GatewayCredential> => {
    const leaf = await issueServerCertificate(ca, { commonName: host, dnsNames: [host], ipAddresses: [] });
    const data: Record<string, string> = { 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem, ...(withCa ? { 'ca.crt': ca.certPem } : {}) };
    const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
    return credentialOf({ type: 'kubernetes.io/tls', metadata: { name, namespace: 'istio-gateway' }, data: encoded })!;
  };
  return [await secret('a-cert', 'a.example.com', false), await secret('b-cert', 'b.example.com', true), await secret('web-cert', 'secure.example.com', false)];
}

interface Case {
  name: string;
  rules: ScenarioRule[];
  extra?: string;
  /** The gateway namespace's credentials (HTTPS_CONFIG's Secrets) are in the snapshot. */
  credentials?: boolean;
  /** Kubernetes Ingresses, converted into the mesh's Gateways and VirtualServices. */
  ingress?: string;
  /** Error codes the config is expected to report (the translation is still pushed whole). */
  errors?: string[];
  proxy: 'sleep-1' | 'sleep-2' | 'helloworld-v1' | 'gateway-1' | 'gateway-2';
}

const cases: Case[] = [];
for (const [label, rules] of [
  ['no rules', []],
  ['80/20 canary', ['destinationrule', 'virtualservice']],
  ['gateway', ['destinationrule', 'gateway']],
  ['gateway canary 20/80', ['destinationrule', 'gateway-canary']],
] as const) {
  for (const proxy of ['sleep-1', 'sleep-2', 'helloworld-v1', 'gateway-1', 'gateway-2'] as const) cases.push({ name: `${label}: ${proxy}`, rules: [...rules], proxy });
}
for (const proxy of ['sleep-1', 'gateway-1', 'helloworld-v1'] as const) cases.push({ name: `wide Istio config: ${proxy}`, rules: ['gateway'], extra: WIDE_CONFIG, proxy });
for (const proxy of ['sleep-1', 'gateway-1'] as const) cases.push({ name: `DestinationRule balancing and connection pools: ${proxy}`, rules: ['gateway'], extra: BALANCING_CONFIG, proxy });
for (const proxy of ['sleep-1', 'gateway-1', 'helloworld-v1'] as const) cases.push({ name: `TCP and TLS routes (and AuthorizationPolicies): ${proxy}`, rules: ['gateway', 'destinationrule'], extra: L4_CONFIG, proxy });
for (const proxy of ['sleep-1', 'gateway-1'] as const) {
  cases.push({ name: `merged gateway VirtualServices, a missing subset: ${proxy}`, rules: ['destinationrule', 'gateway'], extra: MERGE_CONFIG, errors: ['unknown-subset'], proxy });
}
cases.push({ name: 'duplicate subset, DestinationRule precedence: sleep-1', rules: ['gateway'], extra: PRECEDENCE_CONFIG, errors: ['duplicate-subset'], proxy: 'sleep-1' });
cases.push({ name: 'HTTPS servers (SIMPLE and MUTUAL by SNI on 443, SDS over ADS), httpsRedirect: gateway-1', rules: ['destinationrule', 'gateway'], extra: HTTPS_CONFIG, credentials: true, proxy: 'gateway-1' });
cases.push({ name: 'Kubernetes Ingress (path_separated_prefix, exact, wildcard host, TLS secretName): gateway-1', rules: ['destinationrule'], ingress: INGRESS_CONFIG, credentials: true, proxy: 'gateway-1' });

function translated(c: Case): { resources: ProxyResources; snapshot: ReturnType<typeof toXdsSnapshot> } {
  const clusters = scenarioClusters(c.rules);
  if (c.extra) for (const cluster of clusters) cluster.apply('sample', parseYaml(c.extra, c.name));
  const mesh = buildSnapshot(clusters);
  if (c.credentials) mesh.credentials = httpsCredentials;
  if (c.ingress) {
    const ingresses = parseYaml(c.ingress, c.name) as unknown as V1Ingress[];
    const converted = convertIngresses({ ingresses, ingressClasses: [{ metadata: { name: 'istio' }, spec: { controller: ISTIO_INGRESS_CONTROLLER } }], services: [], mesh: DEFAULT_INGRESS_SETTINGS, ingressNamespace: 'istio-system', cluster: 'cluster-1', domainSuffix: 'cluster.local' });
    mesh.gateways.push(...converted.gateways);
    mesh.virtualServices.push(...converted.virtualServices);
  }
  const [c1, c2] = clusters as [typeof clusters[0], typeof clusters[0]];
  const pods = {
    'sleep-1': () => proxyFor(c1.pod('sleep'), 'sidecar'),
    'sleep-2': () => proxyFor(c2.pod('sleep'), 'sidecar'),
    'helloworld-v1': () => proxyFor(c1.pod('helloworld-v1'), 'sidecar'),
    'gateway-1': () => proxyFor(c1.pod('istio-ingressgateway'), 'router'),
    'gateway-2': () => proxyFor(c2.pod('istio-ingressgateway'), 'router'),
  };
  const proxy = pods[c.proxy]();
  // Listeners bind a test-only address, so a mesh running on this machine (127.10/16, 127.20/16) is untouched.
  const moved = { ...proxy, ip: testAddress(proxy.ip), ...(proxy.appIp ? { appIp: testAddress(proxy.appIp) } : {}) };
  const translator = new MeshTranslator(mesh);
  return { resources: translator.translate(moved), snapshot: toXdsSnapshot(translator.translateScoped(moved)) };
}

/** 127.10.0.5 -> 127.210.0.5: a range nothing else on this machine uses. */
function testAddress(ip: string): string {
  const [a, b, c, d] = ip.split('.');
  return `${a}.${200 + (Number(b) % 50)}.${c}.${d}`;
}

function names(dump: { configs: Array<Record<string, unknown>> }, type: string, pick: (entry: Record<string, any>) => string | undefined): string[] {
  const section = dump.configs.find((c) => String(c['@type']).endsWith(`.${type}`)) as Record<string, any> | undefined;
  const entries: Record<string, any>[] = [
    ...(section?.['dynamic_listeners'] ?? []),
    ...(section?.['dynamic_route_configs'] ?? []),
    ...(section?.['dynamic_active_clusters'] ?? []),
  ];
  return entries.map(pick).filter((n): n is string => n !== undefined).sort();
}

for (const protocol of ['SotW', 'Delta'] as const) {
  describe(`Envoy accepts every translation (${protocol} ADS)`, { skip: envoyPath ? false : NO_ENVOY }, () => {
    const cache = new SnapshotCache();
    let xds: RunningXdsServer;
    // Translated clusters and inbound listeners use mesh mTLS: Envoy gets its certificates from the pod agent's SDS.
    let sds: TestSds;
    before(async () => {
      xds = await startXdsServer({ host: '127.0.0.1', port: 0, cache, log: () => {} });
      httpsCredentials = await makeHttpsCredentials();
      sds = await startTestSds(await meshSecrets());
    });
    after(async () => {
      await xds?.close();
      sds?.close();
    });

    for (const [i, c] of cases.entries()) {
      it(c.name, async () => {
        const { resources, snapshot } = translated(c);
        assert.deepEqual([...new Set(resources.problems.filter((p) => p.severity === 'error').map((p) => p.code))], c.errors ?? [], 'the errors the config has');
        const nodeId = `${c.proxy.startsWith('gateway') ? 'router' : 'sidecar'}~127.250.0.${i + 1}~${c.proxy}-${protocol}.sample~sample.svc.cluster.local`;
        cache.setSnapshot(nodeId, snapshot);
        const envoy = await startTestEnvoy({ binary: envoyPath!, xdsPort: xds.port, nodeId, delta: protocol === 'Delta', sdsPort: sds.port });
        try {
          const status = await waitForEnvoySync(envoy, () => xds.xds.status(), nodeId);
          assert.equal(status.protocol, protocol);
          const rejected = [...(await envoy.stats('update_rejected|listener_create_failure|update_failure')).entries()].filter(([, v]) => v > 0);
          assert.deepEqual(rejected, [], 'Envoy rejected nothing');
          // A warning about our config (a deprecated field, an ignored option) is a translate bug too.
          assert.deepEqual(envoy.log().filter((l) => /\]\[(warning|error|critical)\]/.test(l) && !/caught ENVOY_SIGTERM|config stream to xds-grpc closed/.test(l)), []);
          const dump = await envoy.configDump();
          assert.deepEqual(names(dump, 'ListenersConfigDump', (e) => e['active_state'] ? e['name'] : undefined), resources.listeners.map((l) => l.name).sort());
          assert.deepEqual(names(dump, 'RoutesConfigDump', (e) => e['route_config']?.['name']), resources.routes.map((r) => r.name).sort());
          assert.deepEqual(names(dump, 'ClustersConfigDump', (e) => e['cluster']?.['name']), resources.clusters.map((r) => r.name).sort());
          // What `meshwork traffic` and `proxy-config` read back from Envoy's own dump (proto3 JSON) routes
          // a request exactly as the resources we sent do.
          const held = asProxyResources(parseConfigDump(await envoy.configDump('?include_eds')));
          const request = c.proxy.startsWith('gateway')
            ? { listenerPort: 80, host: 'example.com', path: '/hello' }
            : { listenerPort: 'http_proxy' as const, host: 'helloworld.sample:5000', path: '/hello', headers: { 'end-user': 'jason' } };
          const brief = (r: SimulationResult) => ({ outcome: r.outcome, route: r.route, clusters: r.clusters.map((x) => `${x.name} ${x.weight} ${x.endpoints.map((e) => e.address).join(',')}`) });
          assert.deepEqual(brief(simulate(held, request)), brief(simulate(resources, request)));
          // The Ingress's Prefix path (path_separated_prefix) survives the trip through Envoy's dump.
          if (c.ingress) assert.equal(simulate(held, request).outcome, 'routed');
          // The credentialName certificates arrived over ADS: the TLS listener is active (not warming on them).
          if (c.credentials) {
            const secrets = dump.configs.find((x) => String(x['@type']).endsWith('.SecretsConfigDump')) as { dynamic_active_secrets?: Array<{ name: string }> } | undefined;
            // (Besides `default` and `ROOTCA` from the test SDS agent, for the gateway's mTLS to the mesh.)
            const overAds = (secrets?.dynamic_active_secrets ?? []).map((x) => x.name).filter((n) => n.startsWith(CREDENTIAL_NAME_PREFIX));
            assert.deepEqual(overAds.sort(), (resources.secrets ?? []).map((x) => x.name).sort());
            assert.ok((resources.secrets ?? []).length > 0);
          }
        } finally {
          await envoy.stop();
          cache.clearSnapshot(nodeId);
        }
      });
    }
  });
}
