// Conformance cases: the HCM's http_grpc access logger on `envoy_accesslog_service`, as the translator
// adds it to every HCM of a sidecar and a gateway (translate/access-log.ts). The pod's agent computes
// Istio's metrics from these entries (docs/telemetry.md), so both proxies must log each request alike:
// protocol, method, authority, path, response code, response flags, upstream cluster and host.

import { FAULT_TYPE } from '../proxy/testutil/envoy.js';
import { ACCESS_LOG_NAMES } from '../telemetry/istio-labels.js';
import { accessLogEntry } from '../translate/access-log.js';
import { PROXY_HTTP_FILTERS } from '../translate/listeners.js';
import type { ConformanceCase, Observation } from './case.js';
import { get, handWritten, HTTP2, vs, type Res } from './case-builders.js';
import { fromIstio, type CaseResources } from './resources.js';

/** The sidecar's outbound connection manager: fault, CORS and router filters, and Istio's metrics logger. */
const withLogger = (resources: () => CaseResources) => (): CaseResources => ({
  ...resources(),
  hcm: { http_filters: PROXY_HTTP_FILTERS as unknown as Res[], access_log: [accessLogEntry(ACCESS_LOG_NAMES.outbound)] as unknown as Res[] },
});

/** Two proxies that both log nothing agree: each request must have its entry. */
function everyRequestLogged(observations: Observation[], target: string): void {
  const missing = observations.filter((o) => !o.accessLog).length;
  if (missing > 0) throw new Error(`${target}: ${missing} of ${observations.length} requests have no access log entry`);
}

export const ACCESS_LOG_CASES: ConformanceCase[] = [
  {
    name: 'access log (http_grpc on envoy_accesslog_service): routed, posted, HTTP/2, fault-aborted (FI), direct-response and unrouted (NR) requests are logged as Envoy logs them (Istio)',
    accessLog: true,
    resources: withLogger(() =>
      fromIstio(
        vs(`  - match: [{uri: {prefix: /abort}}]
    fault: {abort: {httpStatus: 503, percentage: {value: 100}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /direct}}]
    directResponse: {status: 204}
  - match: [{uri: {prefix: /v2}}]
    route: [{destination: {host: helloworld, subset: v2}}]
  - route: [{destination: {host: helloworld, subset: v1}}]
`),
      ),
    ),
    requests: [
      get('/hello'),
      get('/v2/greeting?lang=en'),
      get('/hello', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'twelve bytes' }),
      get('/hello', { protocol: 'h2c' }),
      get('/abort'),
      get('/direct'),
      get('/hello', { host: 'unknown.example:5000' }),
    ],
    expect: everyRequestLogged,
  },
  {
    name: 'access log: gRPC calls (request content-type, HTTP 200 whatever grpc-status) and an upstream cluster without endpoints (UH) (hand-written)',
    accessLog: true,
    resources: withLogger(
      handWritten(
        [
          {
            match: { prefix: '/test.Echo/', headers: [{ name: 'x-fault', present_match: true }], grpc: {} },
            route: { cluster: 'grpc' },
            typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT_TYPE, abort: { grpc_status: 14, percentage: { numerator: 100 } } } },
          },
          { match: { prefix: '/test.Echo/', grpc: {} }, route: { cluster: 'grpc', timeout: { seconds: 0 } } },
          { match: { prefix: '/down' }, route: { cluster: 'down' } },
        ],
        { grpc: ['grpc'], down: [] },
        { grpc: HTTP2 },
      ),
    ),
    requests: [
      { path: '/test.Echo/Echo', protocol: 'grpc', message: 'hello' },
      { path: '/test.Echo/Echo', protocol: 'grpc', message: 'fail:5' },
      { path: '/test.Echo/Echo', protocol: 'grpc', message: 'hi', headers: { 'x-fault': '1' } },
      get('/down'),
    ],
    expect: everyRequestLogged,
  },
];
