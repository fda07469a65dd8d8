// Mutating (and validating) admission webhooks for the local API server, as kube-apiserver runs them: every
// MutatingWebhookConfiguration (by name), every webhook in it whose rules and selectors match, called
// in turn with an AdmissionReview; each returned JSONPatch applies before the next call. A webhook
// that cannot be called fails the request (failurePolicy Fail) or is skipped (Ignore); a webhook that
// answers allowed=false always fails it.
import { randomUUID } from 'node:crypto';
import { findByKind, parseApiVersion } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import type { StatusReason } from '../../k8s/status.js';
import { StatusError } from '../../k8s/status.js';
import type { AdmissionResponse, UserInfo } from '../../inject/admission-review.js';
import { parseAdmissionReviewResponse } from '../../inject/admission-review.js';
import type { AdmissionHook, AdmissionRequest } from '../apiserver/options.js';
import { applyJsonPatch, isJsonObject } from '../../k8s/patch/index.js';
import type { ObjectStore } from '../store/store.js';
import type { ServiceResolver } from './call.js';
import { postReview, webhookTarget } from './call.js';
import type { MutatingWebhook, RequestAttributes } from './webhook-config.js';
import { readWebhooks, webhookMatches } from './webhook-config.js';

export interface MutatingWebhookAdmissionOptions {
  store: ObjectStore;
  /** `host:port` of a ready endpoint of the service port (see storeServiceResolver). */
  resolveService: ServiceResolver;
  log: (line: string) => void;
  /** Who the review says made the request: always this user (default the admin); the requesting user is not passed to admission yet. */
  userInfo?: UserInfo;
}

const DEFAULT_USER: UserInfo = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };

function typeOf(group: string, kind: string): NonNullable<ReturnType<typeof findByKind>> {
  const t = findByKind(group, kind);
  if (!t) throw new Error(`resource table lacks ${group || 'core'}/${kind}`);
  return t;
}

/** An error of calling the webhook (transport, timeout, bad answer): subject to failurePolicy. */
class CallError extends Error {}

function reasonFor(code: number): StatusReason {
  switch (code) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 422:
      return 'Invalid';
    default:
      return code >= 500 ? 'InternalError' : 'BadRequest';
  }
}

function asKubeObject(value: unknown, webhook: string): KubeObject {
  if (isJsonObject(value) && typeof value.apiVersion === 'string' && typeof value.kind === 'string' && isJsonObject(value.metadata)) {
    const { apiVersion, kind, metadata, ...rest } = value;
    return { ...rest, apiVersion, kind, metadata };
  }
  throw new StatusError(500, 'InternalError', `Internal error occurred: the patch of webhook "${webhook}" did not leave an object with apiVersion, kind and metadata`);
}

export function mutatingWebhookAdmission(opts: MutatingWebhookAdmissionOptions): AdmissionHook {
  return webhookAdmission(opts, 'mutating');
}

/**
 * Validating admission webhooks, as kube-apiserver runs them after mutation and schema validation:
 * every matching webhook of every ValidatingWebhookConfiguration sees the final object; one that
 * answers allowed=false fails the request with its message. Their patches are not applied.
 */
export function validatingWebhookAdmission(opts: MutatingWebhookAdmissionOptions): AdmissionHook {
  return webhookAdmission(opts, 'validating');
}

function webhookAdmission(opts: MutatingWebhookAdmissionOptions, phase: 'mutating' | 'validating'): AdmissionHook {
  const configurations = typeOf('admissionregistration.k8s.io', phase === 'mutating' ? 'MutatingWebhookConfiguration' : 'ValidatingWebhookConfiguration');
  const configResource = phase === 'mutating' ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations';
  const namespaces = typeOf('', 'Namespace');
  const userInfo = opts.userInfo ?? DEFAULT_USER;

  const namespaceLabels = (req: AdmissionRequest): Record<string, string> | undefined => {
    if (req.type.group === '' && req.type.kind === 'Namespace') {
      return { ...(req.object.metadata.labels ?? {}), 'kubernetes.io/metadata.name': req.object.metadata.name ?? '' };
    }
    if (!req.type.namespaced) return undefined;
    const name = req.object.metadata.namespace ?? '';
    const ns = opts.store.get(namespaces, undefined, name);
    // Every namespace carries its own name as a label (set by the API server on real clusters).
    return { ...(ns?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
  };

  const callOne = async (w: MutatingWebhook, req: AdmissionRequest, object: KubeObject): Promise<AdmissionResponse> => {
    if (!w.admissionReviewVersions.includes('v1')) {
      throw new CallError(`webhook does not accept v1 AdmissionReview (admissionReviewVersions: ${JSON.stringify(w.admissionReviewVersions)})`);
    }
    const { group, version } = parseApiVersion(object.apiVersion);
    const uid = randomUUID();
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group, version, kind: req.type.kind },
        resource: { group, version, resource: req.type.plural },
        requestKind: { group, version, kind: req.type.kind },
        requestResource: { group, version, resource: req.type.plural },
        ...(object.metadata.name ? { name: object.metadata.name } : {}),
        ...(req.type.namespaced && object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
        operation: req.operation,
        userInfo,
        object,
        oldObject: req.oldObject ?? null,
        dryRun: false,
        options: { apiVersion: 'meta.k8s.io/v1', kind: req.operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions' },
      },
    };
    let target: ReturnType<typeof webhookTarget>;
    try {
      target = webhookTarget(w.clientConfig, w.timeoutSeconds, opts.resolveService);
    } catch (err) {
      throw new CallError(`failed to call webhook: ${err instanceof Error ? err.message : String(err)}`);
    }
    let answer: unknown;
    try {
      answer = await postReview(target, review, w.timeoutSeconds * 1000);
    } catch (err) {
      throw new CallError(`failed to call webhook: Post ${JSON.stringify(target.displayUrl)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      return parseAdmissionReviewResponse(answer, uid);
    } catch (err) {
      throw new CallError(`received invalid webhook response: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  return async (req) => {
    const { group, version } = parseApiVersion(req.object.apiVersion);
    const attrs: RequestAttributes = { operation: req.operation, group, version, resource: req.type.plural, subresource: '', namespaced: req.type.namespaced };
    const configs = opts.store.list(configurations).items.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
    if (configs.length === 0) return req.object;
    const nsLabels = namespaceLabels(req);
    let object = req.object;
    const what = `${req.type.plural} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name || object.metadata.generateName || ''}`;
    for (const config of configs) {
      let webhooks: MutatingWebhook[];
      try {
        webhooks = readWebhooks(config);
      } catch (err) {
        throw new StatusError(500, 'InternalError', `Internal error occurred: ${configResource} "${config.metadata.name}": ${err instanceof Error ? err.message : String(err)}`);
      }
      for (const w of webhooks) {
        const matches = webhookMatches(w, attrs, {
          namespaceLabels: nsLabels,
          objectLabels: object.metadata.labels,
          ...(req.oldObject ? { oldObjectLabels: req.oldObject.metadata.labels ?? {} } : {}),
        });
        if (!matches) continue;
        if (w.hasMatchConditions) {
          throw new StatusError(500, 'InternalError', `Internal error occurred: not implemented: matchConditions (CEL) of webhook "${w.name}" are not supported by the local API server`);
        }
        let response: AdmissionResponse;
        try {
          response = await callOne(w, req, object);
        } catch (err) {
          if (!(err instanceof CallError)) throw err;
          if (w.failurePolicy === 'Ignore') {
            opts.log(`admission: failed calling webhook "${w.name}" for ${what}, ignored (failurePolicy Ignore): ${err.message}`);
            continue;
          }
          opts.log(`admission: failed calling webhook "${w.name}" for ${what}: ${err.message}`);
          throw new StatusError(500, 'InternalError', `Internal error occurred: failed calling webhook "${w.name}": ${err.message}`);
        }
        if (!response.allowed) {
          const code = response.status?.code && response.status.code >= 400 ? response.status.code : 400;
          const message = `admission webhook "${w.name}" denied the request: ${response.status?.message || 'without explanation'}`;
          opts.log(`admission: ${what}: ${message}`);
          throw new StatusError(code, reasonFor(code), message);
        }
        if (phase === 'validating') {
          if (response.patch) opts.log(`admission: validating webhook "${w.name}" returned a patch for ${what}; it is ignored`);
          continue;
        }
        if (response.patch) {
          let ops: unknown;
          try {
            ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
          } catch (err) {
            throw new StatusError(500, 'InternalError', `Internal error occurred: webhook "${w.name}" returned a patch that is not JSON: ${err instanceof Error ? err.message : String(err)}`);
          }
          try {
            object = asKubeObject(applyJsonPatch(object, ops), w.name);
          } catch (err) {
            if (err instanceof StatusError && err.code === 500) throw err;
            throw new StatusError(500, 'InternalError', `Internal error occurred: the patch of webhook "${w.name}" does not apply: ${err instanceof Error ? err.message : String(err)}`);
          }
          opts.log(`admission: webhook "${w.name}" patched ${what} (${Array.isArray(ops) ? ops.length : 0} operations)`);
        }
      }
    }
    return object;
  };
}
