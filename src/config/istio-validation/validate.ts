// Istio's own validation of networking.istio.io and security.istio.io objects (what istiod's
// validating webhook runs): ports, names and hosts, regexes as RE2 reads them, durations,
// percentages, weights, exclusive fields and TLS settings. Pure: an object in, errors out. The
// messages follow Istio's wording so that a denial reads as it would against istiod.

import { parseDuration } from '../istio-types.js';
import { re2Error } from './re2.js';

export interface IstioValidationError {
  /** Path to the field: 'spec.servers[0].port.number'. */
  field: string;
  message: string;
}

export interface IstioValidationResult {
  errors: IstioValidationError[];
  warnings: IstioValidationError[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

class Collector {
  readonly errors: IstioValidationError[] = [];
  readonly warnings: IstioValidationError[] = [];
  err(field: string, message: string): void {
    this.errors.push({ field, message });
  }
  warn(field: string, message: string): void {
    this.warnings.push({ field, message });
  }
}

// ---------- shared rules ----------

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL_LOOSE = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

function validatePort(c: Collector, field: string, port: unknown): void {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    c.err(field, `port number ${String(port)} must be in the range 1..2^16-1`);
  }
}

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isIP(s: string): boolean {
  if (isIPv4(s)) return true;
  return s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s) && (s.match(/::/g) ?? []).length <= 1;
}

/** Istio's ValidateFQDN + wildcard rules: `*` alone, `*.suffix`, or a DNS name; at most 255 characters. */
function hostError(host: string): string | undefined {
  if (host === '*') return undefined;
  if (host === '') return 'domain name "" invalid (empty name)';
  if (host.length > 255) return `domain name ${JSON.stringify(host)} too long (max 255)`;
  let name = host;
  if (name.startsWith('*.')) name = name.slice(2);
  else if (name.startsWith('*')) name = name.slice(1);
  if (name.includes('*')) return `domain name ${JSON.stringify(host)} invalid (label ${JSON.stringify(name.split('.').find((l) => l.includes('*')) ?? '*')} invalid); wildcards are only allowed as the leftmost label`;
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') return `domain name ${JSON.stringify(host)} invalid (empty name)`;
  for (const label of name.split('.')) {
    if (label.length > 63) return `label ${JSON.stringify(label)} too long (max 63)`;
    if (!DNS1123_LABEL_LOOSE.test(label)) return `domain name ${JSON.stringify(host)} invalid (label ${JSON.stringify(label)} invalid)`;
  }
  return undefined;
}

function validateWildcardDomain(c: Collector, field: string, host: unknown): void {
  if (typeof host !== 'string') return c.err(field, 'host must be a string');
  const e = hostError(host);
  if (e) c.err(field, e);
}

/** A duration as Istio's ValidateDuration reads it: at least 1ms, millisecond precision. */
function durationMillis(c: Collector, field: string, value: unknown, opts: { min?: 'ms' | 'zero' } = {}): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    c.err(field, `invalid duration ${JSON.stringify(value)}: a duration is a string with a unit, like "10s" or "250ms"`);
    return undefined;
  }
  const parsed = parseDuration(value);
  if (!parsed.ok || /^-/.test(value.trim())) {
    c.err(field, `invalid duration ${JSON.stringify(value)}: time: invalid duration`);
    return undefined;
  }
  const nanos = parsed.duration.seconds * 1e9 + parsed.duration.nanos;
  if (opts.min === 'zero') return parsed.millis;
  if (nanos < 1e6) {
    c.err(field, 'duration must be greater than 1ms');
    return undefined;
  }
  if (nanos % 1e6 !== 0) c.err(field, 'only durations to ms precision are supported');
  return parsed.millis;
}

function validatePercent(c: Collector, field: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || value < 0 || value > 100) c.err(field, `percentage ${String(value)} is not in range 0..100`);
}

function validatePercentage(c: Collector, field: string, p: unknown): void {
  if (p === undefined) return;
  if (!isObj(p)) return c.err(field, 'percentage must be an object with a value');
  if (typeof p.value !== 'number' || p.value < 0 || p.value > 100) c.err(`${field}.value`, `percentage ${String(p.value)} is not in range 0..100`);
}

function validateLabels(c: Collector, field: string, labels: unknown): void {
  if (labels === undefined) return;
  if (!isObj(labels)) return c.err(field, 'labels must be a map of strings');
  for (const [k, v] of Object.entries(labels)) {
    const name = k.includes('/') ? k.slice(k.lastIndexOf('/') + 1) : k;
    if (name === '' || name.length > 63 || !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name)) c.err(`${field}.${k}`, `invalid tag key: ${k}`);
    if (typeof v !== 'string' || v.length > 63 || (v !== '' && !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v))) c.err(`${field}.${k}`, `invalid tag value: ${String(v)}`);
  }
}

function validateRegex(c: Collector, field: string, re: string): void {
  if (re.length > 1024) return c.err(field, `${JSON.stringify(field)}: regex is too large, max length allowed is 1024`);
  const e = re2Error(re);
  if (e) c.err(field, `${JSON.stringify(field)}: error parsing regexp: ${e}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)`);
}

function validateStringMatch(c: Collector, field: string, m: unknown, opts: { emptyPrefixOk?: boolean } = {}): void {
  if (m === undefined) return;
  if (!isObj(m)) return c.err(field, 'a string match is an object with one of exact, prefix or regex');
  const set = ['exact', 'prefix', 'regex'].filter((k) => m[k] !== undefined);
  if (set.length > 1) c.err(field, `only one of exact, prefix or regex may be set (found ${set.join(', ')})`);
  for (const k of set) if (typeof m[k] !== 'string') c.err(`${field}.${k}`, `${k} must be a string`);
  if (typeof m.regex === 'string') validateRegex(c, `${field}.regex`, m.regex);
  if (m.prefix === '' && !opts.emptyPrefixOk) c.warn(`${field}.prefix`, 'empty prefix match: matches everything');
}

function uniqueNames(c: Collector, field: string, items: unknown[], what: string, message: (name: string) => string): void {
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (!isObj(it) || typeof it.name !== 'string' || it.name === '') return;
    if (seen.has(it.name)) c.err(`${field}[${i}].name`, message(it.name));
    seen.add(it.name);
  });
  void what;
}

// ---------- Gateway ----------

const GATEWAY_PROTOCOLS = ['HTTP', 'HTTPS', 'GRPC', 'GRPC-WEB', 'HTTP2', 'HTTP_PROXY', 'MONGO', 'REDIS', 'MYSQL', 'TCP', 'TLS', 'UDP', 'THRIFT'];
const TLS_PROTOCOLS = new Set(['HTTPS', 'TLS']);

function validateGatewayHost(c: Collector, field: string, host: unknown): void {
  if (typeof host !== 'string') return c.err(field, 'host must be a string');
  const parts = host.split('/');
  if (parts.length > 2) return c.err(field, `host ${JSON.stringify(host)} has more than one "/": write [namespace/]dnsName`);
  let dns = host;
  if (parts.length === 2) {
    const ns = parts[0]!;
    dns = parts[1]!;
    if (ns !== '.' && ns !== '*' && ns !== '~' && !DNS1123_LABEL.test(ns)) c.err(field, `invalid namespace value ${JSON.stringify(ns)} in gateway ${JSON.stringify(host)}`);
    if (dns === '') return c.err(field, `config namespace and gateway are invalid: ${JSON.stringify(host)}`);
  }
  const e = hostError(dns);
  if (e) c.err(field, e);
}

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY']);

function validateServerTLS(c: Collector, field: string, protocol: string, tls: unknown): void {
  if (!isObj(tls)) {
    if (TLS_PROTOCOLS.has(protocol)) c.err(field, 'server must have TLS settings for HTTPS/TLS protocols');
    return;
  }
  const mode = typeof tls.mode === 'string' ? tls.mode : 'PASSTHROUGH';
  const hasCred = typeof tls.credentialName === 'string' && tls.credentialName !== '';
  const hasCreds = arr(tls.credentialNames).length > 0;
  const hasTlsCerts = arr(tls.tlsCertificates).length > 0;
  const files = !!tls.serverCertificate || !!tls.privateKey || !!tls.caCertificates;
  if (protocol !== '' && !TLS_PROTOCOLS.has(protocol)) {
    if (HTTP_PROTOCOLS.has(protocol)) {
      // Only an https redirect (a passthrough server without certificates) is allowed on plain text HTTP.
      if ((mode !== 'PASSTHROUGH' && mode !== 'AUTO_PASSTHROUGH') || files) c.err(field, 'server cannot have TLS settings for plain text HTTP ports');
    } else c.err(field, 'server cannot have TLS settings for non HTTPS/TLS ports');
  }
  if (tls.httpsRedirect === true && protocol !== '' && !HTTP_PROTOCOLS.has(protocol)) c.warn(`${field}.httpsRedirect`, 'tls.httpsRedirect should only be used with http servers');
  if (mode === 'ISTIO_MUTUAL') {
    if (tls.serverCertificate) c.err(`${field}.serverCertificate`, 'ISTIO_MUTUAL TLS cannot have associated server certificate');
    if (tls.privateKey) c.err(`${field}.privateKey`, 'ISTIO_MUTUAL TLS cannot have associated private key');
    if (tls.caCertificates) c.err(`${field}.caCertificates`, 'ISTIO_MUTUAL TLS cannot have associated CA bundle');
    if (hasTlsCerts) c.err(`${field}.tlsCertificates`, 'ISTIO_MUTUAL TLS cannot have associated tlsCertificates');
    if (hasCred) c.err(`${field}.credentialName`, 'ISTIO_MUTUAL TLS cannot have associated credentialName');
    if (hasCreds) c.err(`${field}.credentialNames`, 'ISTIO_MUTUAL TLS cannot have associated credentialNames');
    return;
  }
  if ((mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH') && (files || hasCred || hasCreds || hasTlsCerts)) {
    c.warn(field, `${mode} mode does not use certificates, they will be ignored`);
  }
  const sources = [!!tls.serverCertificate && !!tls.privateKey, hasCred, hasCreds, hasTlsCerts].filter(Boolean).length;
  if (sources > 1) c.err(field, 'only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified');
  for (const v of ['minProtocolVersion', 'maxProtocolVersion'] as const) {
    if (tls[v] !== undefined && !['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'].includes(String(tls[v]))) c.err(`${field}.${v}`, `unsupported TLS protocol version ${String(tls[v])}`);
  }
  const order = ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'];
  if (typeof tls.minProtocolVersion === 'string' && typeof tls.maxProtocolVersion === 'string' && tls.maxProtocolVersion !== 'TLS_AUTO' && order.indexOf(tls.minProtocolVersion) > order.indexOf(tls.maxProtocolVersion)) {
    c.err(field, 'Server TLS: minimum protocol version must be less than or equal to maximum protocol version');
  }
  const needsCerts = mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL';
  // With a credential the certificates are fetched remotely: nothing else is required.
  if (!needsCerts || hasCred || hasCreds) return;
  const prefix = mode === 'SIMPLE' ? 'SIMPLE TLS' : 'MUTUAL TLS';
  if (mode !== 'SIMPLE' && !tls.caCertificates) c.err(`${field}.caCertificates`, `${prefix} requires a client CA bundle`);
  const certs = hasTlsCerts ? arr(tls.tlsCertificates).map((t) => (isObj(t) ? t : {})) : [{ serverCertificate: tls.serverCertificate, privateKey: tls.privateKey }];
  for (const cert of certs) {
    if (!cert.serverCertificate) c.err(`${field}.serverCertificate`, `${prefix} requires a server certificate`);
    if (!cert.privateKey) c.err(`${field}.privateKey`, `${prefix} requires a private key`);
  }
  if (tls.caCrl && hasCred) c.err(`${field}.caCrl`, 'CRL is not supported with credentialName. CRL has to be specified in the credential');
  if (tls.caCrl && mode === 'SIMPLE') c.err(`${field}.caCrl`, 'CRL is not supported with SIMPLE TLS');
}

function validateGateway(c: Collector, spec: Obj): void {
  const servers = arr(spec.servers);
  if (servers.length === 0) c.err('spec.servers', 'gateway must have at least one server');
  validateLabels(c, 'spec.selector', spec.selector);
  const portNames = new Set<string>();
  servers.forEach((s, i) => {
    const f = `spec.servers[${i}]`;
    if (!isObj(s)) return c.err(f, 'server config must not be null');
    const hosts = arr(s.hosts);
    if (hosts.length === 0) c.err(`${f}.hosts`, 'server config must contain at least one host');
    hosts.forEach((h, j) => validateGatewayHost(c, `${f}.hosts[${j}]`, h));
    const port = s.port;
    let protocol = '';
    if (!isObj(port)) c.err(`${f}.port`, 'port is required');
    else {
      validatePort(c, `${f}.port.number`, port.number);
      protocol = typeof port.protocol === 'string' ? port.protocol.toUpperCase() : '';
      if (!GATEWAY_PROTOCOLS.includes(protocol)) c.err(`${f}.port.protocol`, `invalid protocol ${JSON.stringify(port.protocol ?? '')}, supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP`);
      if (port.targetPort !== undefined && port.targetPort !== 0) c.err(`${f}.port.targetPort`, 'targetPort has no impact on Gateways');
      {
        if (typeof port.name !== 'string' || port.name === '') c.err(`${f}.port.name`, `port name must be set: number:${String(port.number)} protocol:${JSON.stringify(port.protocol ?? '')}`);
        else {
          if (portNames.has(port.name)) c.err(`${f}.port.name`, `port names in servers must be unique: duplicate name ${port.name}`);
          portNames.add(port.name);
        }
      }
    }
    if (s.bind !== undefined && (typeof s.bind !== 'string' || (!isIP(s.bind) && !s.bind.startsWith('unix://')))) c.err(`${f}.bind`, `bind ${JSON.stringify(s.bind)} is not a valid IP address or unix domain socket`);
    validateServerTLS(c, `${f}.tls`, protocol, s.tls);
  });
}

// ---------- VirtualService ----------

/** Istio's validateHTTPStatus: 200 to 600 pass (its message says 200-599). */
function httpStatusError(status: unknown): string | undefined {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 600) return `HTTP status ${String(status)} is not in range 200-599`;
  return undefined;
}
const KNOWN_HTTP_STATUS = new Set([100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511]);
const GRPC_STATUS = new Set(['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED']);

function validateDestination(c: Collector, field: string, d: unknown): void {
  if (!isObj(d)) return c.err(field, 'destination is required');
  if (typeof d.host !== 'string' || d.host === '') c.err(`${field}.host`, 'destination.host is required');
  else {
    if (d.host === '*') c.err(`${field}.host`, 'invalid destination host *');
    else validateWildcardDomain(c, `${field}.host`, d.host);
  }
  if (d.subset === '') c.err(`${field}.subset`, 'subset name cannot be empty');
  else if (d.subset !== undefined && (typeof d.subset !== 'string' || !DNS1123_LABEL.test(d.subset))) c.err(`${field}.subset`, `subset name is invalid: ${String(d.subset)}`);
  if (isObj(d.port)) validatePort(c, `${field}.port.number`, d.port.number);
}

function validateWeights(c: Collector, field: string, routes: unknown[]): void {
  let total = 0;
  routes.forEach((r, i) => {
    if (!isObj(r)) return;
    if (r.weight !== undefined) {
      if (typeof r.weight !== 'number' || !Number.isInteger(r.weight)) c.err(`${field}[${i}].weight`, `weight ${String(r.weight)} is not an integer`);
      else if (r.weight < 0) c.err(`${field}[${i}].weight`, `weight ${r.weight} < 0`);
      else total += r.weight;
    }
  });
  if (total > 0xffffffff) c.err(field, `total weight ${total} exceeds 2^32-1`);
  if (routes.length > 1 && routes.every((r) => isObj(r) && (r.weight === undefined || r.weight === 0))) c.err(field, 'total destination weight = 0');
}

function validateHeaderOps(c: Collector, field: string, h: unknown): void {
  if (h === undefined) return;
  if (!isObj(h)) return c.err(field, 'headers must be an object');
  for (const side of ['request', 'response']) {
    const ops = h[side];
    if (ops === undefined) continue;
    if (!isObj(ops)) { c.err(`${field}.${side}`, 'header operations must be an object'); continue; }
    for (const op of ['set', 'add']) {
      const m = ops[op];
      if (m !== undefined && !isObj(m)) c.err(`${field}.${side}.${op}`, `${op} must be a map of header names to values`);
      if (isObj(m)) for (const name of Object.keys(m)) {
        if (name === '' || /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(name.replace(/^:/, ''))) c.err(`${field}.${side}.${op}`, `invalid header name "${name}"`);
      }
    }
    for (const name of arr(ops.remove)) if (typeof name !== 'string' || name === '') c.err(`${field}.${side}.remove`, `invalid header name "${String(name)}"`);
  }
}

function validateRetries(c: Collector, field: string, r: unknown): void {
  if (r === undefined) return;
  if (!isObj(r)) return c.err(field, 'retries must be an object');
  if (r.attempts !== undefined && (typeof r.attempts !== 'number' || !Number.isInteger(r.attempts))) c.err(`${field}.attempts`, 'attempts must be an integer');
  else if (typeof r.attempts === 'number' && r.attempts < 0) c.err(`${field}.attempts`, 'attempts cannot be negative');
  if ((r.attempts === undefined || r.attempts === 0) && (r.perTryTimeout !== undefined || (r.retryOn !== undefined && r.retryOn !== '') || r.retryRemoteLocalities !== undefined)) {
    c.err(field, 'http retry policy configured when attempts are set to 0 (disabled)');
  }
  if (r.perTryTimeout !== undefined) durationMillis(c, `${field}.perTryTimeout`, r.perTryTimeout);
  if (r.backoff !== undefined) durationMillis(c, `${field}.backoff`, r.backoff);
  if (r.retryOn !== undefined && r.retryOn !== '') {
    if (typeof r.retryOn !== 'string') c.err(`${field}.retryOn`, 'retryOn must be a comma-separated string');
    else for (const p of r.retryOn.split(',')) {
      const known = /^\d+$/.test(p) ? KNOWN_HTTP_STATUS.has(Number(p)) : RETRY_ON.has(p);
      if (!known) c.err(`${field}.retryOn`, `${JSON.stringify(p)} is not a valid retryOn policy`);
    }
  }
}

const RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx', 'refused-stream', 'retriable-status-codes',
  'retriable-headers', 'http3-post-connect-failure', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

function validateFault(c: Collector, field: string, f: unknown): void {
  if (f === undefined) return;
  if (!isObj(f)) return c.err(field, 'fault must be an object');
  if (f.delay === undefined && f.abort === undefined) c.err(field, 'HTTP fault injection must have an abort and/or a delay');
  if (isObj(f.delay)) {
    const d = f.delay;
    validatePercentage(c, `${field}.delay.percentage`, d.percentage);
    validatePercent(c, `${field}.delay.percent`, d.percent);
    if (d.fixedDelay !== undefined) durationMillis(c, `${field}.delay.fixedDelay`, d.fixedDelay);
    if (d.exponentialDelay !== undefined) {
      durationMillis(c, `${field}.delay.exponentialDelay`, d.exponentialDelay);
      c.err(`${field}.delay.exponentialDelay`, 'exponentialDelay not supported yet');
    }
  } else if (f.delay !== undefined) c.err(`${field}.delay`, 'delay must be an object');
  if (isObj(f.abort)) {
    const a = f.abort;
    validatePercentage(c, `${field}.abort.percentage`, a.percentage);
    const kinds = ['httpStatus', 'grpcStatus', 'http2Error'].filter((k) => a[k] !== undefined);
    if (kinds.length === 0) c.warn(`${field}.abort`, 'abort configured, but error type not set');
    if (kinds.length > 1) c.err(`${field}.abort`, `only one of ${kinds.join(', ')} may be set`);
    if (a.httpStatus !== undefined) {
      const e = httpStatusError(a.httpStatus);
      if (e) c.err(`${field}.abort.httpStatus`, e);
    }
    if (a.grpcStatus !== undefined && !GRPC_STATUS.has(String(a.grpcStatus))) {
      c.err(`${field}.abort.grpcStatus`, `gRPC status ${JSON.stringify(a.grpcStatus)} is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md for a list of supported codes, for example 'NOT_FOUND'`);
    }
    if (a.http2Error !== undefined) c.err(`${field}.abort.http2Error`, 'HTTP/2 abort fault injection not supported yet');
  } else if (f.abort !== undefined) c.err(`${field}.abort`, 'abort must be an object');
}

function validateCors(c: Collector, field: string, p: unknown): void {
  if (p === undefined) return;
  if (!isObj(p)) return c.err(field, 'corsPolicy must be an object');
  arr(p.allowOrigins).forEach((o, i) => {
    const m = isObj(o) ? (o.exact ?? o.prefix ?? o.regex) : undefined;
    if (m === undefined || m === '') c.err(`${field}.allowOrigins[${i}]`, `'${typeof m === 'string' ? m : ''}' is not a valid match type for CORS allow origins`);
    else validateStringMatch(c, `${field}.allowOrigins[${i}]`, o, { emptyPrefixOk: true });
  });
  for (const k of ['allowMethods']) arr(p[k]).forEach((m, i) => {
    if (typeof m !== 'string' || !['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', '*'].includes(m)) c.err(`${field}.${k}[${i}]`, `${JSON.stringify(m)} is not a supported HTTP method`);
  });
  for (const k of ['allowHeaders', 'exposeHeaders']) arr(p[k]).forEach((h, i) => {
    if (typeof h !== 'string' || h === '' || (h !== '*' && /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(h))) c.err(`${field}.${k}[${i}]`, `invalid header name "${String(h)}"`);
  });
  if (p.maxAge !== undefined) {
    const ms = durationMillis(c, `${field}.maxAge`, p.maxAge);
    if (ms !== undefined && ms % 1000 !== 0) c.err(`${field}.maxAge`, 'max_age duration is accurate only to seconds precision');
  }
}

function validateHTTPMatch(c: Collector, field: string, m: unknown): void {
  if (!isObj(m)) return c.err(field, 'match must be an object');
  for (const k of ['uri', 'scheme', 'method', 'authority']) validateStringMatch(c, `${field}.${k}`, m[k], { emptyPrefixOk: k === 'uri' });
  if (isObj(m.uri) && typeof m.uri.exact === 'string' && m.uri.exact !== '' && !m.uri.exact.startsWith('/')) {
    /* Istio accepts any string; Envoy matches it as is. */
  }
  for (const k of ['headers', 'queryParams', 'withoutHeaders']) {
    const h = m[k];
    if (h === undefined) continue;
    if (!isObj(h)) { c.err(`${field}.${k}`, `${k} must be a map`); continue; }
    for (const [name, sm] of Object.entries(h)) {
      if (k !== 'queryParams' && name.toLowerCase() !== name) c.err(`${field}.${k}.${name}`, `header match ${name} must be lowercase`);
      if (k !== 'queryParams' && name === '') c.err(`${field}.${k}`, 'header name cannot be empty');
      if (isObj(sm) && Object.keys(sm).length === 0) continue;
      // In withoutHeaders, regex "*" means presence, not an RE2 pattern.
      if (k === 'withoutHeaders' && isObj(sm) && sm.regex === '*') continue;
      validateStringMatch(c, `${field}.${k}.${name}`, sm, { emptyPrefixOk: true });
    }
  }
  if (m.port !== undefined) validatePort(c, `${field}.port`, m.port);
  validateLabels(c, `${field}.sourceLabels`, m.sourceLabels);
  arr(m.gateways).forEach((g, i) => validateGatewayName(c, `${field}.gateways[${i}]`, g));
  if (m.sourceNamespace !== undefined && (typeof m.sourceNamespace !== 'string' || !DNS1123_LABEL.test(m.sourceNamespace))) c.err(`${field}.sourceNamespace`, `sourceNamespace match ${String(m.sourceNamespace)} is invalid`);
  if (m.statPrefix !== undefined && typeof m.statPrefix !== 'string') c.err(`${field}.statPrefix`, 'statPrefix must be a string');
}

function validateGatewayName(c: Collector, field: string, g: unknown): void {
  if (typeof g !== 'string' || g === '') return c.err(field, 'gateway name must not be empty');
  if (g === 'mesh') return;
  const slash = g.indexOf('/');
  if (slash < 0) {
    // The legacy form: a name, or an FQDN `<name>.<namespace>.svc.cluster.local`.
    const e = hostError(g);
    if (e || g.includes('*')) c.err(field, e ?? `domain name ${JSON.stringify(g)} invalid (wildcards are not allowed)`);
    else if (g.includes('.')) {
      const [name, ns] = g.split('.');
      c.warn(field, `using legacy gatewayName format ${JSON.stringify(g)}; prefer the <namespace>/<name> format: ${JSON.stringify(`${ns}/${name}`)}`);
    }
    return;
  }
  const ns = g.slice(0, slash);
  const name = g.slice(slash + 1);
  if (ns === '' || name === '') c.err(field, 'config namespace and gateway name cannot be empty');
  if (!DNS1123_LABEL.test(ns) || ns.length > 63) c.err(field, `invalid value for namespace: ${JSON.stringify(ns)}`);
  if (!DNS1123_LABEL.test(name) || name.length > 63) c.err(field, `invalid value for gateway name: ${JSON.stringify(name)}`);
}

function validateHTTPRoute(c: Collector, field: string, r: unknown, delegate: boolean): void {
  if (!isObj(r)) return c.err(field, 'http route must be an object');
  const routes = arr(r.route);
  const has = { route: r.route !== undefined && routes.length > 0, redirect: r.redirect !== undefined, directResponse: r.directResponse !== undefined, delegate: r.delegate !== undefined };
  const name = typeof r.name === 'string' ? r.name : '';
  if (has.delegate && !delegate) {
    // A root route: only the delegate may be given.
    if (has.redirect) c.err(`${field}.redirect`, `root HTTP route ${name} must not specify redirect`);
    if (r.route !== undefined) c.err(`${field}.route`, `root HTTP route ${name} must not specify route`);
  } else {
    if (delegate && has.delegate) c.err(`${field}.delegate`, 'delegate HTTP route cannot contain delegate');
    if (has.redirect) {
      if (has.route) c.err(field, 'HTTP route cannot contain both route and redirect');
      if (r.fault !== undefined) c.err(field, 'HTTP route cannot contain both fault and redirect');
      if (r.rewrite !== undefined) c.err(field, 'HTTP route rule cannot contain both rewrite and redirect');
      if (has.directResponse) c.err(field, 'HTTP route rule cannot contain both direct_response and redirect');
    } else if (has.directResponse) {
      if (has.route) c.err(field, 'HTTP route cannot contain both route and direct_response');
      if (r.fault !== undefined) c.err(field, 'HTTP route cannot contain both fault and direct_response');
      if (r.rewrite !== undefined) c.err(field, 'HTTP route rule cannot contain both rewrite and direct_response');
    } else if (!has.route) c.err(field, 'HTTP route, redirect or direct_response is required');
  }
  if (r.mirror !== undefined && arr(r.mirrors).length > 0) c.err(field, 'HTTP route cannot contain both mirror and mirrors');
  if (r.name !== undefined && typeof r.name !== 'string') c.err(`${field}.name`, 'name must be a string');

  arr(r.match).forEach((m, i) => validateHTTPMatch(c, `${field}.match[${i}]`, m));
  routes.forEach((d, i) => {
    if (!isObj(d)) return c.err(`${field}.route[${i}]`, 'destination route must be an object');
    validateDestination(c, `${field}.route[${i}].destination`, d.destination);
    validateHeaderOps(c, `${field}.route[${i}].headers`, d.headers);
  });
  validateWeights(c, `${field}.route`, routes);
  validateHeaderOps(c, `${field}.headers`, r.headers);

  if (r.timeout !== undefined) durationMillis(c, `${field}.timeout`, r.timeout);
  validateRetries(c, `${field}.retries`, r.retries);
  validateFault(c, `${field}.fault`, r.fault);
  validateCors(c, `${field}.corsPolicy`, r.corsPolicy);

  if (r.mirror !== undefined) validateDestination(c, `${field}.mirror`, r.mirror);
  if (r.mirrorPercent !== undefined) {
    const v = isObj(r.mirrorPercent) ? r.mirrorPercent.value : r.mirrorPercent;
    if (typeof v !== 'number' || v > 100 || v < 0) c.err(`${field}.mirrorPercent`, `mirror_percent must have a max value of 100 (it has ${String(v)})`);
    c.warn(`${field}.mirrorPercent`, 'using deprecated setting "mirrorPercent", use "mirrorPercentage" instead');
  }
  if (isObj(r.mirrorPercentage)) {
    const v = r.mirrorPercentage.value;
    if (typeof v !== 'number') c.err(`${field}.mirrorPercentage.value`, 'mirror_percentage value must be a number');
    else if (v > 100) c.err(`${field}.mirrorPercentage.value`, `mirror_percentage must have a max value of 100 (it has ${v.toFixed(6)})`);
    else if (v < 0) c.err(`${field}.mirrorPercentage.value`, `mirror_percentage must have a min value of 0 (it has ${v.toFixed(6)})`);
  }
  // One place sets the authority: rewrite.authority or a request header set/add of host/:authority.
  const authorities: string[] = [];
  if (isObj(r.rewrite) && typeof r.rewrite.authority === 'string' && r.rewrite.authority !== '') authorities.push(r.rewrite.authority);
  const reqOps = isObj(r.headers) && isObj(r.headers.request) ? r.headers.request : {};
  for (const op of ['set', 'add']) {
    const m = reqOps[op];
    if (isObj(m)) for (const [k, v] of Object.entries(m)) if (/^(:authority|host)$/i.test(k)) authorities.push(String(v));
  }
  if (authorities.length > 1) c.err(`${field}.headers`, `authority header cannot be set multiple times: have ${JSON.stringify(authorities[0])}, attempting to set ${JSON.stringify(authorities[1])}`);
  arr(r.mirrors).forEach((m, i) => {
    if (!isObj(m)) return c.err(`${field}.mirrors[${i}]`, 'mirror cannot be null');
    if (!isObj(m.destination)) return c.err(`${field}.mirrors[${i}].destination`, 'destination is required for mirrors');
    validateDestination(c, `${field}.mirrors[${i}].destination`, m.destination);
    if (isObj(m.percentage) && typeof m.percentage.value === 'number') {
      const v = m.percentage.value;
      if (v > 100) c.err(`${field}.mirrors[${i}].percentage.value`, `mirror percentage must have a max value of 100 (it has ${v.toFixed(6)})`);
      if (v < 0) c.err(`${field}.mirrors[${i}].percentage.value`, `mirror percentage must have a min value of 0 (it has ${v.toFixed(6)})`);
    }
  });

  if (isObj(r.redirect)) {
    const rd = r.redirect;
    if (!rd.uri && !rd.authority && !rd.scheme && rd.port === undefined && rd.derivePort === undefined) {
      c.err(`${field}.redirect`, 'redirect must specify URI, authority, scheme, or port');
    }
    if (rd.redirectCode !== undefined && rd.redirectCode !== 0 && (typeof rd.redirectCode !== 'number' || rd.redirectCode < 300 || rd.redirectCode > 399)) c.err(`${field}.redirect.redirectCode`, `${String(rd.redirectCode)} is not a valid redirect code, must be 3xx`);
    if (rd.scheme !== undefined && rd.scheme !== '' && rd.scheme !== 'http' && rd.scheme !== 'https') c.err(`${field}.redirect.scheme`, 'invalid redirect scheme, must be "http" or "https"');
    if (rd.port !== undefined) validatePort(c, `${field}.redirect.port`, rd.port);
    if (rd.port !== undefined && rd.derivePort !== undefined) c.err(`${field}.redirect`, 'only one of port or derivePort may be set');
  }
  if (isObj(r.directResponse)) {
    const dr = r.directResponse;
    const e = httpStatusError(dr.status);
    if (e) c.err(`${field}.directResponse.status`, e);
    if (isObj(dr.body)) {
      const b = dr.body;
      if (b.string !== undefined && b.bytes !== undefined) c.err(`${field}.directResponse.body`, 'only one of string or bytes may be set');
      const size = typeof b.string === 'string' ? Buffer.byteLength(b.string) : typeof b.bytes === 'string' ? Math.floor((b.bytes.length * 3) / 4) : 0;
      if (size > 1024 * 1024) c.err(`${field}.directResponse.body`, 'large direct_responses may impact control plane performance, must be less than 1MB');
      else if (size > 100 * 1024) c.warn(`${field}.directResponse.body`, 'large direct_responses may impact control plane performance');
    }
  }
  if (isObj(r.rewrite)) {
    const rw = r.rewrite;
    if (rw.uri && rw.uriRegexRewrite !== undefined) c.err(`${field}.rewrite`, 'rewrite may only contain one of URI or UriRegexRewrite');
    else if (!rw.uri && rw.uriRegexRewrite === undefined && !rw.authority) c.err(`${field}.rewrite`, 'rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or UriRegexRewrite may be specified');
    else if (isObj(rw.uriRegexRewrite)) {
      const rr = rw.uriRegexRewrite;
      if (!rr.match || !rr.rewrite) c.err(`${field}.rewrite.uriRegexRewrite`, 'UriRegexRewrite has errors: UriRegexRewrite requires both Rewrite and Match fields to be specified');
      else if (typeof rr.match === 'string') validateRegex(c, `${field}.rewrite.uriRegexRewrite.match`, rr.match);
    }
    if (typeof rw.uri === 'string' && rw.uri === '' && arr(r.match).some((m) => isObj(m) && isObj(m.uri) && m.uri.prefix !== undefined && m.uri.prefix !== '/')) {
      /* accepted: Istio rewrites to "/" */
    }
  }
}

function validateL4Route(c: Collector, field: string, r: unknown, tls: boolean): void {
  if (!isObj(r)) return c.err(field, 'route must be an object');
  const matches = arr(r.match);
  if (tls && matches.length === 0) c.err(`${field}.match`, 'TLS route must have at least one match condition');
  matches.forEach((m, i) => {
    if (!isObj(m)) return c.err(`${field}.match[${i}]`, 'match must be an object');
    if (tls && arr(m.sniHosts).length === 0) c.err(`${field}.match[${i}].sniHosts`, 'TLS match must have at least one SNI host');
    arr(m.sniHosts).forEach((h, j) => validateWildcardDomain(c, `${field}.match[${i}].sniHosts[${j}]`, h));
    arr(m.destinationSubnets).forEach((s, j) => validateCidr(c, `${field}.match[${i}].destinationSubnets[${j}]`, s));
    if (m.port !== undefined) validatePort(c, `${field}.match[${i}].port`, m.port);
    validateLabels(c, `${field}.match[${i}].sourceLabels`, m.sourceLabels);
    arr(m.gateways).forEach((g, j) => validateGatewayName(c, `${field}.match[${i}].gateways[${j}]`, g));
  });
  const routes = arr(r.route);
  if (routes.length === 0) c.err(`${field}.route`, 'TCP route is required');
  routes.forEach((d, i) => validateDestination(c, `${field}.route[${i}].destination`, isObj(d) ? d.destination : undefined));
  validateWeights(c, `${field}.route`, routes);
}

function validateCidr(c: Collector, field: string, s: unknown): void {
  if (typeof s !== 'string') return c.err(field, 'CIDR must be a string');
  const [ip, bits, extra] = s.split('/');
  if (extra !== undefined || !ip || !isIP(ip)) return c.err(field, `invalid CIDR ${JSON.stringify(s)}`);
  if (bits !== undefined) {
    const max = isIPv4(ip) ? 32 : 128;
    if (!/^\d+$/.test(bits) || Number(bits) > max) c.err(field, `invalid CIDR ${JSON.stringify(s)}`);
  }
}

function validateVirtualService(c: Collector, spec: Obj): void {
  const hosts = arr(spec.hosts);
  const gateways = arr(spec.gateways);
  const delegate = hosts.length === 0;
  if (delegate && gateways.length > 0) c.err('spec.gateways', 'delegate virtual service must have no gateways specified');
  const appliesToMesh = gateways.length === 0 || gateways.includes('mesh');
  let allValid = true;
  hosts.forEach((h, i) => {
    const f = `spec.hosts[${i}]`;
    if (typeof h !== 'string') {
      allValid = false;
      return c.err(f, 'host must be a string');
    }
    const e = hostError(h);
    if (e) {
      // An IP address is a host too (not a CIDR range).
      if (!isIP(h)) {
        c.err(f, e);
        allValid = false;
      }
    } else if (appliesToMesh && h === '*') {
      c.err(f, 'wildcard host * is not allowed for virtual services bound to the mesh gateway');
      allValid = false;
    }
  });
  // Duplicates include a wildcard that covers another host: *.foo.com and a.foo.com.
  if (allValid) {
    const names = hosts as string[];
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < names.length; j++) {
        if (hostsMatch(names[i]!, names[j]!)) c.err(`spec.hosts[${j}]`, `duplicate hosts in virtual service: ${names[i]} & ${names[j]}`);
      }
    }
  }
  gateways.forEach((g, i) => validateGatewayName(c, `spec.gateways[${i}]`, g));
  const http = arr(spec.http);
  const tcp = arr(spec.tcp);
  const tls = arr(spec.tls);
  if (http.length === 0 && tcp.length === 0 && tls.length === 0) c.err('spec', 'http, tcp or tls must be provided in virtual service');
  const names = new Set<string>();
  http.forEach((r, i) => {
    validateHTTPRoute(c, `spec.http[${i}]`, r, delegate);
    if (isObj(r) && typeof r.name === 'string' && r.name !== '') {
      if (names.has(r.name)) c.warn(`spec.http[${i}].name`, `route name ${JSON.stringify(r.name)} is not unique`);
      names.add(r.name);
    }
    if (i < http.length - 1 && isObj(r) && arr(r.match).length === 0) c.warn(`spec.http[${i}]`, `this HTTP route rule has no match conditions and is not the last rule: the rules after it are never used`);
  });
  tcp.forEach((r, i) => validateL4Route(c, `spec.tcp[${i}]`, r, false));
  tls.forEach((r, i) => validateL4Route(c, `spec.tls[${i}]`, r, true));
  arr(spec.exportTo).forEach((e, i) => validateExportTo(c, `spec.exportTo[${i}]`, e));
}

/** Istio's host.Name Matches: equal, or one is a wildcard whose suffix covers the other. */
function hostsMatch(a: string, b: string): boolean {
  if (a === b) return true;
  const covers = (w: string, h: string): boolean => w === '*' || (w.startsWith('*') && (h.startsWith('*') ? h.slice(1).endsWith(w.slice(1)) : h.endsWith(w.slice(1))));
  return (a.startsWith('*') && covers(a, b)) || (b.startsWith('*') && covers(b, a));
}

function validateExportTo(c: Collector, field: string, e: unknown): void {
  if (e === '.' || e === '*' || e === '~') return;
  if (typeof e !== 'string' || !DNS1123_LABEL.test(e) || e.length > 63) c.err(field, `exportTo ${JSON.stringify(e)} is not a valid namespace: only ".", "*" or a namespace name`);
}

// ---------- DestinationRule ----------

function validateClientTLS(c: Collector, field: string, tls: unknown): void {
  if (tls === undefined) return;
  if (!isObj(tls)) return c.err(field, 'tls must be an object');
  const mode = tls.mode;
  if (mode !== undefined && !['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'].includes(String(mode))) c.err(`${field}.mode`, `unsupported TLS mode ${String(mode)}`);
  const hasCred = typeof tls.credentialName === 'string' && tls.credentialName !== '';
  if (mode === 'ISTIO_MUTUAL') {
    if (tls.clientCertificate || tls.privateKey || tls.caCertificates || hasCred) c.err(field, 'cannot specify client certificates or CA certificate or CredentialName If tls mode is ISTIO_MUTUAL');
  }
  if (mode === 'MUTUAL' && !hasCred) {
    if (!tls.clientCertificate) c.err(`${field}.clientCertificate`, 'client certificate required for mutual tls');
    if (!tls.privateKey) c.err(`${field}.privateKey`, 'private key required for mutual tls');
  }
  if ((mode === 'SIMPLE' || mode === 'MUTUAL') && hasCred && (tls.clientCertificate || tls.privateKey || tls.caCertificates)) {
    c.err(field, 'cannot specify client certificates or CA certificate when credentialName is set');
  }
  if (mode === 'DISABLE' && (tls.clientCertificate || tls.privateKey || tls.caCertificates || hasCred)) c.warn(field, 'TLS settings are ignored when mode is DISABLE');
  arr(tls.subjectAltNames).forEach((s, i) => { if (typeof s !== 'string' || s === '') c.err(`${field}.subjectAltNames[${i}]`, 'subjectAltNames must be non-empty strings'); });
}

function validateLoadBalancer(c: Collector, field: string, lb: unknown): void {
  if (lb === undefined) return;
  if (!isObj(lb)) return c.err(field, 'loadBalancer must be an object');
  if (lb.simple !== undefined && lb.consistentHash !== undefined) c.err(field, 'only one of simple or consistentHash may be set');
  if (lb.simple !== undefined && !['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'].includes(String(lb.simple))) c.err(`${field}.simple`, `unsupported load balancer ${String(lb.simple)}`);
  if (isObj(lb.consistentHash)) {
    const h = lb.consistentHash;
    const keys = ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'].filter((k) => h[k] !== undefined);
    if (keys.length > 1) c.err(`${field}.consistentHash`, `only one of ${keys.join(', ')} may be set`);
    if (isObj(h.httpCookie)) {
      if (typeof h.httpCookie.name !== 'string' || h.httpCookie.name === '') c.err(`${field}.consistentHash.httpCookie.name`, 'name required for HttpCookie');
      if (h.httpCookie.ttl !== undefined) durationMillis(c, `${field}.consistentHash.httpCookie.ttl`, h.httpCookie.ttl, { min: 'zero' });
    }
    if (h.httpHeaderName === '') c.err(`${field}.consistentHash.httpHeaderName`, 'header name required for HttpHeaderName');
    if (h.minimumRingSize !== undefined && (typeof h.minimumRingSize !== 'number' || h.minimumRingSize < 0)) c.err(`${field}.consistentHash.minimumRingSize`, 'minimumRingSize must be >= 0');
  }
  if (isObj(lb.localityLbSetting)) {
    const l = lb.localityLbSetting;
    if (arr(l.distribute).length > 0 && arr(l.failover).length > 0) c.err(`${field}.localityLbSetting`, 'can not simultaneously specify \'distribute\' and \'failover\'');
    arr(l.distribute).forEach((d, i) => {
      if (!isObj(d) || !isObj(d.to)) return;
      let sum = 0;
      for (const w of Object.values(d.to)) if (typeof w === 'number') sum += w;
      if (sum !== 100) c.err(`${field}.localityLbSetting.distribute[${i}].to`, `if distribute is specified, the weights in 'to' must sum to 100, got ${sum}`);
      if (typeof d.from === 'string' && d.from.split('/').slice(0, -1).includes('*')) c.err(`${field}.localityLbSetting.distribute[${i}].from`, 'locality wildcard * must be in the last segment');
    });
    arr(l.failover).forEach((f, i) => { if (isObj(f) && f.from === f.to) c.err(`${field}.localityLbSetting.failover[${i}]`, 'locality lb failover settings must specify different regions'); });
  }
  if (lb.warmupDurationSecs !== undefined) durationMillis(c, `${field}.warmupDurationSecs`, lb.warmupDurationSecs);
}

function validateConnectionPool(c: Collector, field: string, p: unknown): void {
  if (p === undefined) return;
  if (!isObj(p)) return c.err(field, 'connectionPool must be an object');
  if (p.http === undefined && p.tcp === undefined) c.err(field, 'connection pool must have at least one field');
  if (isObj(p.http)) {
    const h = p.http;
    for (const k of ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries', 'maxConcurrentStreams']) {
      const words: Record<string, string> = { http1MaxPendingRequests: 'http1 max pending requests', http2MaxRequests: 'http2 max requests', maxRequestsPerConnection: 'max requests per connection', maxRetries: 'max retries', maxConcurrentStreams: 'max concurrent streams' };
      if (h[k] !== undefined && (typeof h[k] !== 'number' || (h[k] as number) < 0)) c.err(`${field}.http.${k}`, `${words[k] ?? k} must be non-negative`);
    }
    if (h.idleTimeout !== undefined) durationMillis(c, `${field}.http.idleTimeout`, h.idleTimeout);
    if (h.h2UpgradePolicy !== undefined && !['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'].includes(String(h.h2UpgradePolicy))) c.err(`${field}.http.h2UpgradePolicy`, `unsupported h2UpgradePolicy ${String(h.h2UpgradePolicy)}`);
  }
  if (isObj(p.tcp)) {
    const t = p.tcp;
    if (t.maxConnections !== undefined && (typeof t.maxConnections !== 'number' || t.maxConnections < 0)) c.err(`${field}.tcp.maxConnections`, 'max connections must be non-negative');
    if (t.connectTimeout !== undefined) durationMillis(c, `${field}.tcp.connectTimeout`, t.connectTimeout);
    if (t.maxConnectionDuration !== undefined) durationMillis(c, `${field}.tcp.maxConnectionDuration`, t.maxConnectionDuration);
    if (t.idleTimeout !== undefined) durationMillis(c, `${field}.tcp.idleTimeout`, t.idleTimeout);
    if (isObj(t.tcpKeepalive)) {
      if (t.tcpKeepalive.time !== undefined) durationMillis(c, `${field}.tcp.tcpKeepalive.time`, t.tcpKeepalive.time);
      if (t.tcpKeepalive.interval !== undefined) durationMillis(c, `${field}.tcp.tcpKeepalive.interval`, t.tcpKeepalive.interval);
    }
  }
}

function validateOutlier(c: Collector, field: string, o: unknown): void {
  if (o === undefined) return;
  if (!isObj(o)) return c.err(field, 'outlierDetection must be an object');
  for (const k of ['consecutiveErrors', 'consecutive5xxErrors', 'consecutiveGatewayErrors', 'consecutiveLocalOriginFailures']) {
    const v = o[k];
    if (v === undefined) continue;
    const n = isObj(v) ? v.value : v;
    if (typeof n !== 'number' || n < 0) c.err(`${field}.${k}`, `outlier detection ${k} cannot be negative`);
  }
  if (o.interval !== undefined) durationMillis(c, `${field}.interval`, o.interval);
  if (o.baseEjectionTime !== undefined) durationMillis(c, `${field}.baseEjectionTime`, o.baseEjectionTime);
  validatePercent(c, `${field}.maxEjectionPercent`, o.maxEjectionPercent);
  validatePercent(c, `${field}.minHealthPercent`, o.minHealthPercent);
  if (o.consecutiveErrors !== undefined && o.consecutiveErrors !== 0) c.warn(`${field}.consecutiveErrors`, 'outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead');
  const localOrigin = isObj(o.consecutiveLocalOriginFailures) ? o.consecutiveLocalOriginFailures.value : o.consecutiveLocalOriginFailures;
  if (o.splitExternalLocalOriginErrors !== true && typeof localOrigin === 'number' && localOrigin > 0) {
    c.err(`${field}.consecutiveLocalOriginFailures`, 'outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false');
  }
}

function validateTrafficPolicy(c: Collector, field: string, p: unknown): void {
  if (p === undefined) return;
  if (!isObj(p)) return c.err(field, 'trafficPolicy must be an object');
  if (Object.keys(p).length === 0) return c.err(field, 'traffic policy must have at least one field');
  validateLoadBalancer(c, `${field}.loadBalancer`, p.loadBalancer);
  validateConnectionPool(c, `${field}.connectionPool`, p.connectionPool);
  validateOutlier(c, `${field}.outlierDetection`, p.outlierDetection);
  validateClientTLS(c, `${field}.tls`, p.tls);
  arr(p.portLevelSettings).forEach((s, i) => {
    const f = `${field}.portLevelSettings[${i}]`;
    if (!isObj(s)) return c.err(f, 'port traffic policy must be an object');
    if (!isObj(s.port)) c.err(`${f}.port`, 'port traffic policy must have a port number');
    else validatePort(c, `${f}.port.number`, s.port.number);
    if (s.loadBalancer === undefined && s.connectionPool === undefined && s.outlierDetection === undefined && s.tls === undefined) c.err(f, 'port traffic policy must have at least one field');
    validateLoadBalancer(c, `${f}.loadBalancer`, s.loadBalancer);
    validateConnectionPool(c, `${f}.connectionPool`, s.connectionPool);
    validateOutlier(c, `${f}.outlierDetection`, s.outlierDetection);
    validateClientTLS(c, `${f}.tls`, s.tls);
  });
  const ports = new Set<number>();
  arr(p.portLevelSettings).forEach((s, i) => {
    if (isObj(s) && isObj(s.port) && typeof s.port.number === 'number') {
      if (ports.has(s.port.number)) c.err(`${field}.portLevelSettings[${i}].port.number`, `duplicate port number ${s.port.number} in port level settings`);
      ports.add(s.port.number);
    }
  });
}

function validateDestinationRule(c: Collector, spec: Obj): void {
  if (typeof spec.host !== 'string' || spec.host === '') c.err('spec.host', 'destination rule must have a host');
  else validateWildcardDomain(c, 'spec.host', spec.host);
  validateTrafficPolicy(c, 'spec.trafficPolicy', spec.trafficPolicy);
  const subsets = arr(spec.subsets);
  subsets.forEach((s, i) => {
    const f = `spec.subsets[${i}]`;
    if (!isObj(s)) return c.err(f, 'subset must be an object');
    if (typeof s.name !== 'string' || s.name === '') c.err(`${f}.name`, 'name is required');
    else if (!DNS1123_LABEL.test(s.name) || s.name.length > 63) c.err(`${f}.name`, `subset name is invalid: ${s.name}`);
    validateLabels(c, `${f}.labels`, s.labels);
    validateTrafficPolicy(c, `${f}.trafficPolicy`, s.trafficPolicy);
  });
  uniqueNames(c, 'spec.subsets', subsets, 'subset', (n) => `duplicate subset names: ${n}`);
  if (isObj(spec.workloadSelector)) {
    validateLabels(c, 'spec.workloadSelector.matchLabels', spec.workloadSelector.matchLabels);
    if (spec.exportTo !== undefined && !(arr(spec.exportTo).length === 1 && arr(spec.exportTo)[0] === '.')) {
      c.err('spec.workloadSelector', 'destination rule with workload selector cannot have exportTo beyond current namespace');
    }
  }
  arr(spec.exportTo).forEach((e, i) => validateExportTo(c, `spec.exportTo[${i}]`, e));
}

// ---------- ServiceEntry ----------

const SE_PROTOCOLS = new Set(['HTTP', 'HTTPS', 'GRPC', 'GRPC-WEB', 'HTTP2', 'MONGO', 'REDIS', 'MYSQL', 'TCP', 'TLS', 'UDP', 'THRIFT']);

function validateServiceEntry(c: Collector, spec: Obj): void {
  const hosts = arr(spec.hosts);
  const endpoints = arr(spec.endpoints);
  if (spec.workloadSelector !== undefined && spec.endpoints !== undefined) c.err('spec', 'only one of WorkloadSelector or Endpoints is allowed in Service Entry');
  if (hosts.length === 0) c.err('spec.hosts', 'service entry must have at least one host');
  hosts.forEach((h, i) => {
    const f = `spec.hosts[${i}]`;
    if (typeof h !== 'string') return c.err(f, 'host must be a string');
    if (h === '*') return c.err(f, 'invalid host *');
    const e = hostError(h);
    if (e) c.err(f, e);
  });
  const addresses = arr(spec.addresses);
  let cidr = false;
  addresses.forEach((a, i) => {
    if (typeof a === 'string' && a.includes('/')) cidr = true;
    validateCidr(c, `spec.addresses[${i}]`, a);
  });
  const resolution = spec.resolution === undefined ? 'NONE' : String(spec.resolution);
  if (cidr && resolution !== 'NONE' && resolution !== 'STATIC') c.err('spec.addresses', 'CIDR addresses are allowed only for NONE/STATIC resolution types');
  if (spec.location !== undefined && !['MESH_EXTERNAL', 'MESH_INTERNAL'].includes(String(spec.location))) c.err('spec.location', `unsupported location ${String(spec.location)}`);
  const ports = arr(spec.ports);
  const names = new Set<string>();
  const numbers = new Set<number>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (!isObj(p)) return c.err(f, 'service entry port may not be null');
    const name = typeof p.name === 'string' ? p.name : '';
    if (names.has(name)) c.err(`${f}.name`, `service entry port name ${JSON.stringify(name)} already defined`);
    names.add(name);
    if (typeof p.number === 'number') {
      if (numbers.has(p.number)) c.err(`${f}.number`, `service entry port ${p.number} already defined`);
      numbers.add(p.number);
    }
    if (p.targetPort !== undefined && p.targetPort !== 0) validatePort(c, `${f}.targetPort`, p.targetPort);
    if (!DNS1123_LABEL.test(name) || name.length > 63) c.err(`${f}.name`, `invalid port name: ${name}`);
    if (p.protocol !== undefined && p.protocol !== '' && !SE_PROTOCOLS.has(String(p.protocol).toUpperCase())) c.err(`${f}.protocol`, `unsupported protocol: ${String(p.protocol)}`);
    validatePort(c, `${f}.number`, p.number);
  });
  const endpointPorts = (e: Obj, f: string): void => {
    if (!isObj(e.ports)) return;
    for (const [name, port] of Object.entries(e.ports)) {
      if (!names.has(name)) c.err(`${f}.ports.${name}`, `endpoint port ${String(port)} is not defined by the service entry`);
      if (!DNS1123_LABEL.test(name)) c.err(`${f}.ports.${name}`, `invalid port name: ${name}`);
      validatePort(c, `${f}.ports.${name}`, port);
    }
  };
  switch (resolution) {
    case 'NONE':
      if (endpoints.length > 0) c.err('spec.endpoints', 'no endpoints should be provided for resolution type none');
      if (spec.workloadSelector !== undefined) c.warn('spec.workloadSelector', 'workloadSelector should not be set when resolution mode is NONE');
      break;
    case 'STATIC':
      endpoints.forEach((e, i) => {
        const f = `spec.endpoints[${i}]`;
        if (!isObj(e)) return c.err(f, 'endpoint cannot be nil');
        const addr = typeof e.address === 'string' ? e.address : '';
        if (addr === '') {
          if (e.network === undefined || e.network === '') return c.err(`${f}.address`, 'address is required');
          c.warn(`${f}.address`, `address is unset with network ${JSON.stringify(e.network)}`);
        } else if (addr.startsWith('unix://')) {
          if (isObj(e.ports) && Object.keys(e.ports).length > 0) c.err(`${f}.ports`, `unix endpoint ${addr} must not include ports`);
        } else if (!isIP(addr)) c.err(`${f}.address`, `endpoint address ${JSON.stringify(addr)} is not a valid IP address`);
        endpointPorts(e, f);
        validateLabels(c, `${f}.labels`, e.labels);
        if (e.weight !== undefined && (typeof e.weight !== 'number' || e.weight < 0)) c.err(`${f}.weight`, `weight ${String(e.weight)} < 0`);
      });
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
      if (endpoints.length === 0) {
        for (const h of hosts) {
          if (typeof h === 'string' && (h.includes('*') || hostError(h))) c.err('spec.hosts', `hosts must be FQDN if no endpoints are provided for resolution mode ${resolution}`);
        }
      }
      if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) c.err('spec.endpoints', `there must only be 0 or 1 endpoint for resolution mode ${resolution}`);
      endpoints.forEach((e, i) => {
        const f = `spec.endpoints[${i}]`;
        if (!isObj(e)) return c.err(f, 'endpoint cannot be nil');
        const addr = typeof e.address === 'string' ? e.address : '';
        if (!isIP(addr) && (hostError(addr) || addr.includes('*'))) c.err(`${f}.address`, `endpoint address ${JSON.stringify(addr)} is not a valid FQDN or an IP address`);
        validateLabels(c, `${f}.labels`, e.labels);
        endpointPorts(e, f);
      });
      break;
    default:
      c.err('spec.resolution', `unsupported resolution type ${resolution}`);
  }
  if (resolution !== 'NONE' && hosts.length > 1 && ports.some((p) => isObj(p) && !HTTP_PROTOCOLS.has(String(p.protocol ?? '').toUpperCase()) && !TLS_PROTOCOLS.has(String(p.protocol ?? '').toUpperCase()))) {
    c.err('spec.ports', 'multiple hosts provided with non-HTTP, non-TLS ports');
  }
  if (isObj(spec.workloadSelector)) validateLabels(c, 'spec.workloadSelector.labels', spec.workloadSelector.labels);
  arr(spec.exportTo).forEach((e, i) => validateExportTo(c, `spec.exportTo[${i}]`, e));
  arr(spec.subjectAltNames).forEach((s, i) => { if (typeof s !== 'string' || s === '') c.err(`spec.subjectAltNames[${i}]`, 'subjectAltNames must be non-empty strings'); });
}

// ---------- security.istio.io ----------

function validatePeerAuthentication(c: Collector, spec: Obj, namespace: string | undefined, rootNamespace: string): void {
  const modes = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];
  const selector = isObj(spec.selector) ? spec.selector : undefined;
  if (selector) validateLabels(c, 'spec.selector.matchLabels', selector.matchLabels);
  if (isObj(spec.mtls) && spec.mtls.mode !== undefined && !modes.includes(String(spec.mtls.mode))) c.err('spec.mtls.mode', `unsupported mTLS mode ${String(spec.mtls.mode)}`);
  const ports = spec.portLevelMtls;
  if (ports !== undefined) {
    if (!selector || !isObj(selector.matchLabels) || Object.keys(selector.matchLabels).length === 0) c.err('spec.portLevelMtls', 'mesh/namespace peer authentication cannot have port level mTLS');
    if (!isObj(ports) || Object.keys(ports).length === 0) c.err('spec.portLevelMtls', 'port level mTLS must not be empty');
    else for (const [port, m] of Object.entries(ports)) {
      const n = Number(port);
      if (!/^\d+$/.test(port) || n < 1 || n > 65535) c.err(`spec.portLevelMtls.${port}`, `port number ${port} must be in the range 1..2^16-1`);
      if (isObj(m) && m.mode !== undefined && !modes.includes(String(m.mode))) c.err(`spec.portLevelMtls.${port}.mode`, `unsupported mTLS mode ${String(m.mode)}`);
    }
  }
  if (namespace === rootNamespace && selector && isObj(selector.matchLabels) && Object.keys(selector.matchLabels).length > 0) {
    c.warn('spec.selector', 'peer authentication in the root namespace with a workload selector applies only to workloads in the root namespace');
  }
}

function validateAuthorizationPolicy(c: Collector, spec: Obj): void {
  const action = spec.action === undefined ? 'ALLOW' : String(spec.action);
  if (!['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'].includes(action)) c.err('spec.action', `unsupported action ${action}`);
  if (action === 'CUSTOM' && spec.provider === undefined) c.err('spec.provider', 'invalid policy: provider must be specified for CUSTOM action');
  if (action !== 'CUSTOM' && spec.provider !== undefined) c.err('spec.provider', 'invalid policy: provider can only be used with CUSTOM action');
  if (action === 'CUSTOM' && arr(spec.rules).length === 0) c.err('spec.rules', 'CUSTOM action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request');
  if (spec.selector !== undefined && spec.targetRef !== undefined) c.err('spec', 'only one of targetRefs or workloadSelector can be set');
  if (isObj(spec.selector)) validateLabels(c, 'spec.selector.matchLabels', spec.selector.matchLabels);
  arr(spec.rules).forEach((r, i) => {
    const f = `spec.rules[${i}]`;
    if (!isObj(r)) return c.err(f, 'rule must be an object');
    const froms = arr(r.from);
    if (r.from !== undefined && froms.length === 0) c.err(`${f}.from`, '`from` must not be empty');
    froms.forEach((fr, j) => {
      const s = isObj(fr) ? fr.source : undefined;
      if (!isObj(s) || Object.keys(s).length === 0) return c.err(`${f}.from[${j}]`, '`from.source` must not be nil or empty');
      const sa = arr(s.serviceAccounts).length > 0 || arr(s.notServiceAccounts).length > 0;
      const pr = arr(s.principals).length > 0 || arr(s.notPrincipals).length > 0;
      if (sa && pr) c.err(`${f}.from[${j}].source`, 'cannot set serviceAccounts and principals at the same time');
      for (const k of ['serviceAccounts', 'notServiceAccounts']) arr(s[k]).forEach((v, n) => {
        if (typeof v !== 'string' || v === '' || v.split('/').length > 2) c.err(`${f}.from[${j}].source.${k}[${n}]`, `ServiceAccounts must be of the form 'ns/sa' or 'sa', got ${JSON.stringify(v)}`);
        if (typeof v === 'string' && v.includes('*')) c.err(`${f}.from[${j}].source.${k}[${n}]`, 'wildcard is not supported in ServiceAccounts');
      });
      for (const k of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']) arr(s[k]).forEach((v, n) => validateCidr(c, `${f}.from[${j}].source.${k}[${n}]`, v));
      validateNoEmptyStrings(c, `${f}.from[${j}].source`, s);
    });
    const tos = arr(r.to);
    if (r.to !== undefined && tos.length === 0) c.err(`${f}.to`, '`to` must not be empty');
    tos.forEach((t, j) => {
      const op = isObj(t) ? t.operation : undefined;
      if (!isObj(op) || Object.keys(op).length === 0) return c.err(`${f}.to[${j}]`, '`to.operation` must not be nil or empty');
      for (const k of ['ports', 'notPorts']) arr(op[k]).forEach((p, n) => {
        const num = Number(p);
        if (typeof p !== 'string' || !/^\d+$/.test(p) || num < 1 || num > 65535) c.err(`${f}.to[${j}].operation.${k}[${n}]`, `port number ${String(p)} must be in the range 1..2^16-1`);
      });
      for (const k of ['paths', 'notPaths']) arr(op[k]).forEach((p, n) => {
        if (typeof p === 'string' && p.includes('{')) {
          if (!/^(\/(\{\*\*?\}|[^{}/]*))*$/.test(p)) c.err(`${f}.to[${j}].operation.${k}[${n}]`, `invalid or unsupported path ${p}, found in ${k}`);
        }
      });
      validateNoEmptyStrings(c, `${f}.to[${j}].operation`, op);
    });
    arr(r.when).forEach((w, j) => {
      if (!isObj(w) || typeof w.key !== 'string' || w.key === '') return c.err(`${f}.when[${j}].key`, 'key cannot be empty');
      if (arr(w.values).length === 0 && arr(w.notValues).length === 0) c.err(`${f}.when[${j}]`, `at least one of values or notValues must be set for key: ${w.key}`);
      const known = /^(request\.headers\[.+\]|source\.(ip|namespace|principal)|remote\.ip|request\.auth\.(principal|audiences|presenter|claims\[.+\])|destination\.(ip|port)|connection\.sni|experimental\.envoy\.filters\..+)$/;
      if (!known.test(w.key)) c.err(`${f}.when[${j}].key`, `unknown attribute (${w.key})`);
      if (w.key === 'destination.port') for (const v of [...arr(w.values), ...arr(w.notValues)]) {
        const n = Number(v);
        if (typeof v !== 'string' || !/^\d+$/.test(v) || n < 1 || n > 65535) c.err(`${f}.when[${j}]`, `port number ${String(v)} must be in the range 1..2^16-1`);
      }
    });
  });
}

function validateNoEmptyStrings(c: Collector, field: string, o: Obj): void {
  for (const [k, v] of Object.entries(o)) {
    if (!Array.isArray(v)) continue;
    v.forEach((s, i) => { if (s === '') c.err(`${field}.${k}[${i}]`, `empty value is not allowed, found in ${k}`); });
  }
}

// ---------- Sidecar ----------

const SIDECAR_PROTOCOLS = new Set([...SE_PROTOCOLS, 'HTTP_PROXY']);

/** Istio's ValidateNamespaceSlashWildcardHostname for sidecars: `ns/dnsName` with ns `*`, `.`, `~` or a DNS label. */
function validateNamespaceSlashHost(c: Collector, field: string, host: unknown): void {
  if (typeof host !== 'string') return c.err(field, 'host must be a string');
  const slash = host.indexOf('/');
  if (slash < 0) return c.err(field, 'host must be of form namespace/dnsName');
  const ns = host.slice(0, slash);
  const name = host.slice(slash + 1);
  if (ns === '' || name === '') return c.err(field, 'config namespace and dnsName in host entry cannot be empty');
  if (ns !== '*' && ns !== '.' && ns !== '~' && !DNS1123_LABEL.test(ns)) c.err(field, `invalid namespace value ${JSON.stringify(ns)} in sidecar`);
  if (name !== '*') {
    const e = hostError(name);
    if (e) c.err(field, e);
  }
}

function validateSidecarPort(c: Collector, field: string, port: Obj, bind: unknown): void {
  if (typeof port.name === 'string' && port.name !== '' && (!DNS1123_LABEL.test(port.name) || port.name.length > 63)) c.err(`${field}.name`, `invalid port name: ${port.name}`);
  if (port.protocol !== undefined && !SIDECAR_PROTOCOLS.has(String(port.protocol).toUpperCase())) c.err(`${field}.protocol`, `unrecognized protocol ${JSON.stringify(String(port.protocol))}`);
  if (typeof port.targetPort === 'number' && port.targetPort > 0) c.err(`${field}.targetPort`, 'targetPort has no impact on Sidecars');
  if (port.number === 0) {
    if (typeof bind !== 'string' || !bind.startsWith('unix://')) c.err(field, 'sidecar: ports with 0 value must have a unix domain socket bind address');
  } else validatePort(c, `${field}.number`, port.number);
  if (typeof bind === 'string' && bind !== '' && !bind.startsWith('unix://') && !isIP(bind)) c.err(field.replace(/\.port$/, '.bind'), `${bind} is not a valid IP`);
}

function validateSidecar(c: Collector, spec: Obj, namespace: string | undefined): void {
  const selector = spec.workloadSelector;
  if (isObj(selector)) {
    validateLabels(c, 'spec.workloadSelector.labels', selector.labels);
    if (!isObj(selector.labels) || Object.keys(selector.labels).length === 0) {
      c.warn('spec.workloadSelector', 'sidecar: workload selector specified without labels, will be applied to all services in namespace');
    }
  }
  const ingress = arr(spec.ingress);
  const egress = arr(spec.egress);
  if (ingress.length === 0 && egress.length === 0 && spec.outboundTrafficPolicy === undefined && spec.inboundConnectionPool === undefined) {
    return c.err('spec', 'sidecar: empty configuration provided');
  }
  const ingressPorts = new Set<unknown>();
  ingress.forEach((l, i) => {
    const f = `spec.ingress[${i}]`;
    if (!isObj(l)) return c.err(f, 'sidecar: ingress may not be null');
    if (!isObj(l.port)) return c.err(`${f}.port`, 'sidecar: port is required for ingress listeners');
    validateSidecarPort(c, `${f}.port`, l.port, l.bind);
    if (ingressPorts.has(l.port.number)) c.err(`${f}.port.number`, 'sidecar: ports on IP bound listeners must be unique');
    ingressPorts.add(l.port.number);
    if (typeof l.defaultEndpoint === 'string' && l.defaultEndpoint !== '' && !l.defaultEndpoint.startsWith('unix://')) {
      const m = /^(?:\[([^\]]*)\]|([^:]*)):([^:]*)$/.exec(l.defaultEndpoint);
      const host = m ? (m[1] ?? m[2]) : undefined;
      if (!m) c.err(`${f}.defaultEndpoint`, `address ${l.defaultEndpoint}: missing port in address`);
      else if (host !== '' && !['127.0.0.1', '0.0.0.0', '::1', '::'].includes(host ?? '')) {
        c.err(`${f}.defaultEndpoint`, 'sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset');
      }
      if (m && !/^\d+$/.test(m[3])) c.err(`${f}.defaultEndpoint`, `sidecar: defaultEndpoint port (${m[3]}) is not a number`);
      else if (m) validatePort(c, `${f}.defaultEndpoint`, Number(m[3]));
    }
    validateConnectionPool(c, `${f}.connectionPool`, l.connectionPool);
  });
  validateConnectionPool(c, 'spec.inboundConnectionPool', spec.inboundConnectionPool);
  const egressPorts = new Set<unknown>();
  let catchAll = false;
  egress.forEach((l, i) => {
    const f = `spec.egress[${i}]`;
    if (!isObj(l)) return c.err(f, 'egress listener may not be null');
    if (l.port === undefined || l.port === null) {
      if (catchAll) return c.err(f, 'sidecar: egress can have only one listener with empty port');
      if (i === egress.length - 1) catchAll = true;
      else c.err(f, 'sidecar: the egress listener with empty port should be the last listener in the list');
    } else if (isObj(l.port)) {
      validateSidecarPort(c, `${f}.port`, l.port, l.bind);
      if (l.port.number !== 0) {
        if (egressPorts.has(l.port.number)) c.err(`${f}.port.number`, 'sidecar: ports on IP bound listeners must be unique');
        egressPorts.add(l.port.number);
      }
    }
    const hosts = arr(l.hosts);
    if (hosts.length === 0) return c.err(`${f}.hosts`, 'sidecar: egress listener must contain at least one host');
    const seen = new Map<string, Set<string>>();
    hosts.forEach((h, j) => {
      validateNamespaceSlashHost(c, `${f}.hosts[${j}]`, h);
      if (typeof h !== 'string' || !h.includes('/')) return;
      let [ns, name] = [h.slice(0, h.indexOf('/')), h.slice(h.indexOf('/') + 1)];
      if (ns === '.' && namespace) ns = namespace;
      const names = seen.get(ns) ?? new Set<string>();
      if (name === '*' ? names.size > 0 : names.has(name) || names.has('*')) c.warn(`${f}.hosts[${j}]`, `duplicated egress host: ${h}`);
      names.add(name);
      seen.set(ns, names);
    });
    if (seen.get('*')?.has('*') && seen.size !== 1) c.warn(`${f}.hosts`, '`*/*` host select all resources, no other hosts can be added');
  });
  const policy = spec.outboundTrafficPolicy;
  if (isObj(policy)) {
    if (policy.mode !== undefined && !['REGISTRY_ONLY', 'ALLOW_ANY'].includes(String(policy.mode))) c.err('spec.outboundTrafficPolicy.mode', `unsupported outboundTrafficPolicy mode ${String(policy.mode)}`);
    if (policy.egressProxy !== undefined && (policy.mode ?? 'REGISTRY_ONLY') !== 'ALLOW_ANY') {
      c.err('spec.outboundTrafficPolicy.egressProxy', 'sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode');
    }
  }
}

// ---------- entry ----------

export const ISTIO_VALIDATED_KINDS = ['Gateway', 'VirtualService', 'DestinationRule', 'ServiceEntry', 'Sidecar', 'PeerAuthentication', 'AuthorizationPolicy'] as const;

export interface IstioObjectInput {
  apiVersion?: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  spec?: unknown;
}

/** Istio's checks of one object; kinds it does not know pass with no errors. */
export function validateIstioObject(obj: IstioObjectInput, opts: { rootNamespace?: string } = {}): IstioValidationResult {
  const c = new Collector();
  const spec = obj.spec;
  if (!(ISTIO_VALIDATED_KINDS as readonly string[]).includes(obj.kind)) return c;
  if (spec === undefined || spec === null) {
    c.err('spec', 'spec is required');
    return c;
  }
  if (!isObj(spec)) {
    c.err('spec', `cannot parse proto message: spec must be an object`);
    return c;
  }
  const name = obj.metadata?.name;
  if (name !== undefined && (name.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))) {
    c.err('metadata.name', `invalid name ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
  }
  switch (obj.kind) {
    case 'Gateway': validateGateway(c, spec); break;
    case 'VirtualService': validateVirtualService(c, spec); break;
    case 'DestinationRule': validateDestinationRule(c, spec); break;
    case 'ServiceEntry': validateServiceEntry(c, spec); break;
    case 'Sidecar': validateSidecar(c, spec, obj.metadata?.namespace); break;
    case 'PeerAuthentication': validatePeerAuthentication(c, spec, obj.metadata?.namespace, opts.rootNamespace ?? 'istio-system'); break;
    case 'AuthorizationPolicy': validateAuthorizationPolicy(c, spec); break;
  }
  return c;
}

/** `configuration is invalid: <field>: <message>, ...` as istiod's webhook denies a request. */
export function formatIstioErrors(errors: readonly IstioValidationError[]): string {
  return `configuration is invalid: ${errors.map((e) => `${e.message} (${e.field})`).join(', ')}`;
}
