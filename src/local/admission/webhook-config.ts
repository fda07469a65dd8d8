// Mutating- and ValidatingWebhookConfiguration (admissionregistration.k8s.io/v1) read into typed webhooks with the
// API's defaults, and the matching the API server does before it calls one: rules, scope,
// namespaceSelector, objectSelector.
import type { KubeObject } from '../../k8s/object.js';
import type { LabelSelector, LabelSelectorRequirement } from '../../k8s/selectors.js';
import { matchLabelSelector } from '../../k8s/selectors.js';

export type FailurePolicy = 'Fail' | 'Ignore';
export type RuleScope = '*' | 'Cluster' | 'Namespaced';

export interface WebhookRule {
  operations: string[];
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  scope: RuleScope;
}

export interface ServiceReference {
  namespace: string;
  name: string;
  path: string;
  port: number;
}

export interface ClientConfig {
  url?: string;
  service?: ServiceReference;
  /** PEM, decoded from the base64 caBundle. */
  caPem?: string;
}

export interface MutatingWebhook {
  /** `<configuration>/<webhook>` for logs. */
  configuration: string;
  name: string;
  clientConfig: ClientConfig;
  rules: WebhookRule[];
  failurePolicy: FailurePolicy;
  namespaceSelector: LabelSelector;
  objectSelector: LabelSelector;
  timeoutSeconds: number;
  admissionReviewVersions: string[];
  hasMatchConditions: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

const OPERATORS: ReadonlyArray<LabelSelectorRequirement['operator']> = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

function selector(value: unknown, path: string): LabelSelector {
  if (!isRecord(value)) return {};
  const matchLabels: Record<string, string> = {};
  if (isRecord(value.matchLabels)) for (const [k, v] of Object.entries(value.matchLabels)) if (typeof v === 'string') matchLabels[k] = v;
  const matchExpressions: LabelSelectorRequirement[] = [];
  for (const [i, e] of (Array.isArray(value.matchExpressions) ? value.matchExpressions : []).entries()) {
    const operator = isRecord(e) ? OPERATORS.find((op) => op === e.operator) : undefined;
    if (!isRecord(e) || typeof e.key !== 'string' || !operator) throw new Error(`${path}.matchExpressions[${i}] is not a valid label selector requirement`);
    matchExpressions.push({ key: e.key, operator, values: strings(e.values) });
  }
  return { matchLabels, matchExpressions };
}

function rule(value: unknown): WebhookRule {
  const r = isRecord(value) ? value : {};
  const scope = r.scope === 'Cluster' || r.scope === 'Namespaced' ? r.scope : '*';
  return { operations: strings(r.operations), apiGroups: strings(r.apiGroups), apiVersions: strings(r.apiVersions), resources: strings(r.resources), scope };
}

/** The webhooks of one configuration, with v1 defaults (failurePolicy Fail, timeout 10s, port 443). */
export function readMutatingWebhooks(config: KubeObject): MutatingWebhook[] {
  return readWebhooks(config);
}

/** The webhooks of a Mutating- or ValidatingWebhookConfiguration (the fields read are the same). */
export function readWebhooks(config: KubeObject): MutatingWebhook[] {
  const configuration = config.metadata.name ?? '';
  const list = Array.isArray(config.webhooks) ? config.webhooks : [];
  const resource = config.kind === 'ValidatingWebhookConfiguration' ? 'validatingwebhookconfigurations' : 'mutatingwebhookconfigurations';
  return list.map((raw, i): MutatingWebhook => {
    const w = isRecord(raw) ? raw : {};
    const path = `${resource}/${configuration} webhooks[${i}]`;
    const cc = isRecord(w.clientConfig) ? w.clientConfig : {};
    const svc = isRecord(cc.service) ? cc.service : undefined;
    const clientConfig: ClientConfig = {
      ...(typeof cc.url === 'string' ? { url: cc.url } : {}),
      ...(svc
        ? {
            service: {
              namespace: typeof svc.namespace === 'string' ? svc.namespace : '',
              name: typeof svc.name === 'string' ? svc.name : '',
              path: typeof svc.path === 'string' ? svc.path : '/',
              port: typeof svc.port === 'number' ? svc.port : 443,
            },
          }
        : {}),
      ...(typeof cc.caBundle === 'string' && cc.caBundle !== '' ? { caPem: Buffer.from(cc.caBundle, 'base64').toString('utf8') } : {}),
    };
    return {
      configuration,
      name: typeof w.name === 'string' ? w.name : `webhook-${i}`,
      clientConfig,
      rules: (Array.isArray(w.rules) ? w.rules : []).map(rule),
      failurePolicy: w.failurePolicy === 'Ignore' ? 'Ignore' : 'Fail',
      namespaceSelector: selector(w.namespaceSelector, `${path}.namespaceSelector`),
      objectSelector: selector(w.objectSelector, `${path}.objectSelector`),
      timeoutSeconds: typeof w.timeoutSeconds === 'number' ? w.timeoutSeconds : 10,
      admissionReviewVersions: strings(w.admissionReviewVersions),
      hasMatchConditions: Array.isArray(w.matchConditions) && w.matchConditions.length > 0,
    };
  });
}

export interface RequestAttributes {
  operation: string;
  group: string;
  version: string;
  /** Plural resource name: 'pods'. */
  resource: string;
  /** '' for the main resource. */
  subresource: string;
  namespaced: boolean;
}

function listMatches(list: readonly string[], value: string): boolean {
  return list.includes('*') || list.includes(value);
}

/** `pods` matches the main resource, `pods/status` a subresource, `*` and `*\/*` as the API defines them. */
function resourceMatches(resources: readonly string[], resource: string, subresource: string): boolean {
  const wanted = subresource ? `${resource}/${subresource}` : resource;
  return resources.some((r) => {
    if (r === '*/*' || r === wanted) return true;
    if (r === '*') return subresource === '';
    if (r.startsWith('*/')) return subresource !== '' && r.slice(2) === subresource;
    if (r.endsWith('/*')) return subresource !== '' && r.slice(0, -2) === resource;
    return false;
  });
}

export function ruleMatches(r: WebhookRule, attrs: RequestAttributes): boolean {
  if (!listMatches(r.operations, attrs.operation)) return false;
  if (!listMatches(r.apiGroups, attrs.group)) return false;
  if (!listMatches(r.apiVersions, attrs.version)) return false;
  if (!resourceMatches(r.resources, attrs.resource, attrs.subresource)) return false;
  if (r.scope === 'Cluster' && attrs.namespaced) return false;
  if (r.scope === 'Namespaced' && !attrs.namespaced) return false;
  return true;
}

export interface SelectorInput {
  /** Labels of the request's namespace; undefined for cluster-scoped objects (no namespace to select). */
  namespaceLabels: Readonly<Record<string, string>> | undefined;
  objectLabels: Readonly<Record<string, string>> | undefined;
  oldObjectLabels?: Readonly<Record<string, string>>;
}

/** Whether the API server calls this webhook for the request. */
export function webhookMatches(w: MutatingWebhook, attrs: RequestAttributes, sel: SelectorInput): boolean {
  if (!w.rules.some((r) => ruleMatches(r, attrs))) return false;
  if (sel.namespaceLabels !== undefined && !matchLabelSelector(w.namespaceSelector, sel.namespaceLabels)) return false;
  // The object selector matches when either the new or the old object matches (as kube-apiserver).
  const objectOk = matchLabelSelector(w.objectSelector, sel.objectLabels ?? {}) || (sel.oldObjectLabels !== undefined && matchLabelSelector(w.objectSelector, sel.oldObjectLabels));
  return objectOk;
}
