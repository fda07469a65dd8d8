// What a conformance case is: the resources to serve, the requests to send, and what of the answers
// must agree between Envoy (the oracle) and the meshwork proxy.

import type { CaseResources } from './resources.js';
import type { LoggedEntry } from './targets.js';
import type { ClientCertName } from './tls-pki.js';

export interface CaseRequest {
  method?: string;
  path: string;
  /** Host / :authority (default 'example.test'). */
  host?: string;
  headers?: Record<string, string>;
  body?: string;
  /**
   * Default http1; h2c is HTTP/2 with prior knowledge; grpc is a grpc-js unary call on h2c; tcp is a raw
   * connection that sends `body`; tls the same inside a TLS session (ClientHello with `sni`).
   */
  protocol?: 'http1' | 'h2c' | 'grpc' | 'tcp' | 'tls' | 'https' | 'h2';
  /**
   * For https (HTTP/1.1 over TLS) and h2 (HTTP/2 over TLS, ALPN h2): the client certificate presented
   * (a tls-pki.ts name; none when absent). A connection the proxy refuses is status 0, body 'refused'.
   */
  clientCert?: ClientCertName;
  /** For tls, https and h2: the server name of the ClientHello. */
  sni?: string;
  /** For https: the ALPN protocols the ClientHello offers (none when absent), e.g. Istio's `istio`. */
  alpn?: string[];
  /** For tcp/tls: after the echo, keep the connection open this long without a byte (idle timeouts). */
  holdMs?: number;
  /** For tcp/tls: end the sending side (FIN) right after the body; the answer must still arrive. */
  halfClose?: boolean;
  /** For tcp/tls: first `CONNECT <this authority>` through the listener (an app behind https_proxy), then the bytes in the tunnel. */
  connect?: string;
  /** For grpc: the message (the gRPC upstream answers 'fail:N' with status N). */
  message?: string;
  /** In a `concurrent` case: when to send it, in ms after the first. */
  startAtMs?: number;
}

/** Traffic whose outcome is random: compared as counts against weights, each target on its own. */
export interface Distribution {
  /** The request, or the i-th request (e.g. a different hash key each). */
  request: CaseRequest | ((i: number) => CaseRequest);
  count: number;
  /** Outcome label ('upstream:a', 'status:503', ...) -> expected weight. */
  weights: Record<string, number>;
}

export interface ConformanceCase {
  name: string;
  resources: () => CaseResources;
  /** Sent one after another, each compared with its counterpart. */
  requests?: CaseRequest[];
  /** Send the requests at once, each at its startAtMs (circuit breakers, in-flight limits). */
  concurrent?: boolean;
  distribution?: Distribution;
  /** Response headers compared besides the status (lower case). */
  responseHeaders?: string[];
  /** Compare the response body too (local replies: 404, 503, redirects). */
  compareBody?: boolean;
  /** An upstream whose copy of each request (found by x-test-key) is compared: a mirror's shadow. */
  shadow?: string;
  /**
   * Compare per-request results reduced by this function (for outcomes whose order may differ, e.g. an
   * ejection that happens after the 3rd failure whichever host round robin started with).
   */
  summarize?: (observations: Observation[]) => unknown;
  /** Also check the translator's simulate() against Envoy's answers (cases whose outcome is routing alone). */
  simulate?: boolean;
  /**
   * The upstream (or undefined: none) that must answer each request on Envoy: the case is about those
   * outcomes, so two proxies agreeing on something else (e.g. both closing every connection) fails it.
   */
  expectUpstreams?: Array<string | undefined>;
  /**
   * Compare each request's entry from the HCM's http_grpc access logger (the case's `hcm` adds the
   * logger): requests are sent one after another, so entries arrive in their order.
   */
  accessLog?: boolean;
  /** Check each target's observation on its own as well (e.g. elapsed time of a delay). */
  check?: (o: Observation, target: string) => void;
  /** Check each target's observations together (the outcome the case is about, so that agreeing on nothing fails). */
  expect?: (observations: Observation[], target: string) => void;
}

export interface UpstreamView {
  upstream: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** How many requests with this x-test-key this upstream has seen, this one included (retries). */
  attempt: number;
  /** The upstream's serial number of the connection the request came on (connection reuse). */
  connection?: number;
}

export interface Observation {
  status: number;
  /** The upstream that answered (its x-upstream header), undefined for a local reply. */
  upstream: string | undefined;
  grpcStatus?: number;
  headers: Record<string, string>;
  body: string;
  /** What the upstream saw (from the echo), when an upstream answered. */
  upstreamSaw?: UpstreamView;
  shadowSaw?: UpstreamView | null;
  /** In an accessLog case: the request's access log entry (null: none arrived). */
  accessLog?: LoggedEntry | null;
  elapsedMs: number;
}
