// The apiserver's own rules for networking.k8s.io/v1 Ingress and IngressClass
// (pkg/apis/networking/validation), with its field paths and messages: what the OpenAPI schema
// cannot say (a path type's path syntax, one backend kind, port name or number, host syntax).
// Values of the wrong JSON type are left to the schema check.
import { isIP } from 'node:net';
import type { FieldCause } from '../../k8s/status.js';
import { invalid, notSupported, required, tooLong } from './causes.js';
import { indexPath } from './field-path.js';
import { isDns1035Label, isDns1123Subdomain, isValidPortName, isValidPortNum, isWildcardDns1123Subdomain } from './names.js';

type Fields = Record<string, unknown>;

const record = (v: unknown): Fields | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Fields) : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'] as const;
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];
const MAX_CONTROLLER_LENGTH = 250;
const HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";
const HTTP_PATH = new RegExp(`^${HTTP_PATH_FMT}$`);

/** A rule or TLS host: a DNS subdomain, or `*.` and one. */
function hostProblems(host: string): string[] {
  return host.includes('*') ? isWildcardDns1123Subdomain(host) : isDns1123Subdomain(host);
}

function validateBackend(value: unknown, path: string, out: FieldCause[]): void {
  const backend = record(value) ?? {};
  const service = record(backend.service);
  const resource = record(backend.resource);
  if (service && resource) {
    out.push(invalid(path, '', 'cannot set both resource and service backends'));
    return;
  }
  if (resource) {
    if (!text(resource.kind)) out.push(required(`${path}.resource.kind`));
    if (!text(resource.name)) out.push(required(`${path}.resource.name`));
    return;
  }
  if (!service) {
    out.push(invalid(path, '', 'resource or service backend is required'));
    return;
  }
  const name = text(service.name) ?? '';
  if (!name) out.push(required(`${path}.service.name`));
  else for (const msg of isDns1035Label(name)) out.push(invalid(`${path}.service.name`, name, msg));
  const port = record(service.port) ?? {};
  const portName = text(port.name) ?? '';
  const portNumber = typeof port.number === 'number' ? port.number : 0;
  if (portName && portNumber !== 0) out.push(invalid(path, '', 'cannot set both port name & port number'));
  else if (portName) for (const msg of isValidPortName(portName)) out.push(invalid(`${path}.service.port.name`, portName, msg));
  else if (portNumber !== 0) for (const msg of isValidPortNum(portNumber)) out.push(invalid(`${path}.service.port.number`, portNumber, msg));
  else out.push(required(path, 'port name or number is required'));
}

function validatePath(value: unknown, path: string, out: FieldCause[]): void {
  const entry = record(value) ?? {};
  const pathType = text(entry.pathType);
  const httpPath = text(entry.path) ?? '';
  if (pathType === undefined) {
    out.push(required(`${path}.pathType`, 'pathType must be specified'));
    return;
  }
  if (pathType === 'Exact' || pathType === 'Prefix') {
    if (!httpPath.startsWith('/')) out.push(invalid(`${path}.path`, httpPath, 'must be an absolute path'));
    for (const seq of INVALID_PATH_SEQUENCES) if (httpPath.includes(seq)) out.push(invalid(`${path}.path`, httpPath, `must not contain '${seq}'`));
    for (const suffix of INVALID_PATH_SUFFIXES) if (httpPath.endsWith(suffix)) out.push(invalid(`${path}.path`, httpPath, `cannot end with '${suffix}'`));
  } else if (pathType === 'ImplementationSpecific') {
    if (httpPath.length > 0 && !httpPath.startsWith('/')) out.push(invalid(`${path}.path`, httpPath, 'must be an absolute path'));
  } else {
    out.push(notSupported(`${path}.pathType`, pathType, PATH_TYPES));
  }
  validateBackend(entry.backend, `${path}.backend`, out);
}

/** ValidateIngressSpec: an Ingress's `spec`. */
export function validateIngressSpec(specValue: unknown, out: FieldCause[]): void {
  const spec = record(specValue);
  if (!spec) {
    if (specValue === undefined) out.push(invalid('spec', null, 'either `defaultBackend` or `rules` must be specified'));
    return;
  }
  const rules = list(spec.rules);
  if (rules.length === 0 && spec.defaultBackend === undefined) out.push(invalid('spec', rules, 'either `defaultBackend` or `rules` must be specified'));
  if (spec.defaultBackend !== undefined) validateBackend(spec.defaultBackend, 'spec.defaultBackend', out);
  rules.forEach((raw, i) => {
    const rule = record(raw) ?? {};
    const at = indexPath('spec.rules', i);
    const host = text(rule.host) ?? '';
    if (host) {
      if (isIP(host) !== 0) out.push(invalid(`${at}.host`, host, 'must be a DNS name, not an IP address'));
      for (const msg of hostProblems(host)) out.push(invalid(`${at}.host`, host, msg));
    }
    const http = record(rule.http);
    if (!http) return;
    const paths = list(http.paths);
    if (paths.length === 0) out.push(required(`${at}.http.paths`));
    paths.forEach((p, j) => validatePath(p, indexPath(`${at}.http.paths`, j), out));
  });
  list(spec.tls).forEach((raw, i) => {
    const tls = record(raw) ?? {};
    const at = indexPath('spec.tls', i);
    list(tls.hosts).forEach((h, j) => {
      if (typeof h !== 'string') return;
      for (const msg of hostProblems(h)) out.push(invalid(indexPath(`${at}.hosts`, j), h, msg));
    });
    const secretName = text(tls.secretName) ?? '';
    if (secretName) for (const msg of isDns1123Subdomain(secretName)) out.push(invalid(`${at}.secretName`, secretName, msg));
  });
  const className = text(spec.ingressClassName);
  if (className !== undefined) for (const msg of isDns1123Subdomain(className)) out.push(invalid('spec.ingressClassName', className, msg));
}

/** validateIngressClassSpec: `controller` is a domain-prefixed path such as `istio.io/ingress-controller`. */
export function validateIngressClassSpec(specValue: unknown, out: FieldCause[]): void {
  const spec = record(specValue) ?? {};
  const controller = text(spec.controller) ?? '';
  if (!controller) {
    out.push(required('spec.controller'));
  } else {
    if (controller.length > MAX_CONTROLLER_LENGTH) out.push(tooLong('spec.controller', MAX_CONTROLLER_LENGTH));
    const slash = controller.indexOf('/');
    const domain = slash < 0 ? '' : controller.slice(0, slash);
    const rest = slash < 0 ? '' : controller.slice(slash + 1);
    if (!domain || !rest) {
      out.push(invalid('spec.controller', controller, 'must be a domain-prefixed path (such as "acme.io/foo")'));
    } else {
      for (const msg of isDns1123Subdomain(domain)) out.push(invalid('spec.controller', domain, msg));
      if (!HTTP_PATH.test(rest)) out.push(invalid('spec.controller', rest, `Invalid path (regex used for validation is '${HTTP_PATH_FMT}')`));
    }
  }
  const params = record(spec.parameters);
  if (!params) return;
  if (!text(params.kind)) out.push(required('spec.parameters.kind'));
  if (!text(params.name)) out.push(required('spec.parameters.name'));
  const scope = text(params.scope);
  if (scope === undefined) out.push(required('spec.parameters.scope'));
  else if (scope !== 'Cluster' && scope !== 'Namespace') out.push(notSupported('spec.parameters.scope', scope, ['Cluster', 'Namespace']));
  else if (scope === 'Namespace' && text(params.namespace) === undefined) out.push(required('spec.parameters.namespace', "`parameters.scope` is set to 'Namespace'"));
}
