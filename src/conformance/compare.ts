// What of an observation is compared between Envoy and the meshwork proxy, and the verdict on
// random outcomes (a chi-square test of each target's counts against the configured weights).

import { chiSquareTest, SUITE_ALPHA } from '../stats/chisquare.js';
import { responseFlagsText } from '../telemetry/access-log-entry.js';
import type { ConformanceCase, Observation, UpstreamView } from './case.js';
import type { LoggedEntry } from './targets.js';

/** Headers an upstream sees whose value differs per request or per target: compared by presence. */
const VOLATILE = new Set(['x-request-id', 'x-test-key']);
/** Connection management between a proxy and its upstream, not request content. */
const TRANSPORT = new Set(['connection', 'keep-alive']);
/**
 * Envoy sends a mirrored copy through its internal async client, which marks it internal and gives it
 * a placeholder x-forwarded-for (192.0.2.2): artifacts of Envoy's plumbing, not mirror semantics.
 */
const SHADOW_ARTIFACTS = new Set(['x-envoy-internal', 'x-forwarded-for']);

function upstreamView(v: UpstreamView | null | undefined, skip: ReadonlySet<string> = TRANSPORT): unknown {
  if (!v) return v;
  const headers: Record<string, string> = {};
  for (const name of Object.keys(v.headers).sort()) {
    if (TRANSPORT.has(name) || skip.has(name)) continue;
    const value = v.headers[name]!;
    if (VOLATILE.has(name)) headers[name] = '<present>';
    // What is left of the route timeout when the attempt starts: compared to the second.
    else if (name === 'x-envoy-expected-rq-timeout-ms') headers[name] = `${Math.ceil(Number(value) / 1000)}s`;
    else headers[name] = value;
  }
  return { upstream: v.upstream, method: v.method, path: v.path, headers, body: v.body, attempt: v.attempt };
}

/**
 * What of an access log entry both proxies must log alike: what Istio's metrics and a reader of the log
 * use. Left out: durations, byte counts of headers (Envoy counts the headers it adds) and of response
 * bodies (the echo carries target-specific headers), and the addresses' hosts (each target has its own).
 */
function accessLogView(logged: LoggedEntry | null | undefined): unknown {
  if (!logged) return null;
  const { common_properties: common = {}, request = {}, response = {} } = logged.entry;
  const upstream = common.upstream_remote_address?.socket_address;
  return {
    logName: logged.logName,
    protocol: logged.entry.protocol_version ?? null,
    method: request.request_method ?? null,
    authority: request.authority ?? null,
    path: request.path ?? null,
    requestContentType: request.request_headers?.['content-type'] ?? null,
    requestBodyBytes: request.request_body_bytes ?? 0,
    responseCode: response.response_code?.value ?? null,
    responseFlags: responseFlagsText(common.response_flags),
    upstreamCluster: common.upstream_cluster ?? null,
    upstreamHost: upstream ? `${upstream.address}:${upstream.port_value}` : null,
    localPort: common.downstream_local_address?.socket_address?.port_value ?? null,
  };
}

/** The comparable part of one observation. */
export function comparable(c: ConformanceCase, o: Observation): Record<string, unknown> {
  const out: Record<string, unknown> = { status: o.status, upstream: o.upstream ?? null };
  if (o.grpcStatus !== undefined) out['grpcStatus'] = o.grpcStatus;
  for (const h of c.responseHeaders ?? []) out[`response ${h}`] = o.headers[h] ?? null;
  // A local reply's body (an upstream's is its echo, compared as upstreamSaw).
  if (c.compareBody && !o.upstreamSaw) out['body'] = o.body;
  if (o.upstreamSaw) out['upstreamSaw'] = upstreamView(o.upstreamSaw);
  if (c.shadow) out['shadowSaw'] = upstreamView(o.shadowSaw, SHADOW_ARTIFACTS) ?? null;
  if (c.accessLog) out['accessLog'] = accessLogView(o.accessLog);
  return out;
}

/** An outcome label for counting: the upstream that answered, else the status. */
export function outcomeLabel(o: Observation): string {
  return o.upstream !== undefined ? `upstream:${o.upstream}` : `status:${o.status}`;
}

export interface DistributionVerdict {
  counts: Record<string, number>;
  pValue: number;
  pass: boolean;
}

export function judgeDistribution(weights: Record<string, number>, observations: Observation[]): DistributionVerdict {
  const labels = Object.keys(weights);
  const counts: Record<string, number> = Object.fromEntries(labels.map((l) => [l, 0]));
  let other = 0;
  for (const o of observations) {
    const l = outcomeLabel(o);
    if (l in counts) counts[l]!++;
    else {
      other++;
      counts[l] = (counts[l] ?? 0) + 1;
    }
  }
  const result = chiSquareTest(labels.map((l) => counts[l]!), labels.map((l) => weights[l]!), SUITE_ALPHA);
  return { counts, pValue: result.pValue, pass: result.pass && other === 0 };
}
