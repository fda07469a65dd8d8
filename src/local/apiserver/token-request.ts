// The TokenRequest subresource, POST .../serviceaccounts/<name>/token (`kubectl create token`, the
// kubelet's projected tokens): a bound token for the service account, optionally bound to a pod.
import { findByKind, type ResourceType } from '../../k8s/kinds.js';
import { badRequest, invalid, notFound, StatusError } from '../../k8s/status.js';
import { rfc3339 } from '../../k8s/time-format.js';
import { isPlainObject } from './http.js';
import type { Reply } from './reply.js';
import type { ResourceRoute } from './routes.js';
import type { ObjectStore } from '../store/store.js';
import { MIN_EXPIRATION_SECONDS, type ServiceAccountTokens } from '../serviceaccount/tokens.js';

const MAX_EXPIRATION_SECONDS = 2 ** 32;

function mustFind(group: string, kind: string): ResourceType {
  const t = findByKind(group, kind);
  if (!t) throw new Error(`resource table lacks ${kind}`);
  return t;
}

const TOKEN_REQUEST_TYPE = { ...mustFind('authentication.k8s.io', 'TokenReview'), kind: 'TokenRequest' };

export function createToken(store: ObjectStore, tokens: ServiceAccountTokens | undefined, route: ResourceRoute, body: Record<string, unknown>, now: number): Reply {
  if (!tokens) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource: this API server issues no service-account tokens');
  const namespace = route.namespace ?? '';
  const name = route.name ?? '';
  const sa = store.get(route.type, namespace, name);
  if (!sa) throw notFound(route.type, name);
  const spec = isPlainObject(body.spec) ? body.spec : {};
  const audiences = Array.isArray(spec.audiences) ? spec.audiences.filter((a): a is string => typeof a === 'string') : [];
  const requested = spec.expirationSeconds;
  const seconds = requested === undefined || requested === null ? undefined : Number(requested);
  if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < MIN_EXPIRATION_SECONDS)) {
    throw invalid(TOKEN_REQUEST_TYPE, name, [{ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${String(requested)}: may not specify a duration less than 10 minutes` }]);
  }
  if (seconds !== undefined && seconds > MAX_EXPIRATION_SECONDS) {
    throw invalid(TOKEN_REQUEST_TYPE, name, [{ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${seconds}: may not specify a duration larger than 2^32 seconds` }]);
  }
  let pod: { name: string; uid: string; nodeName?: string } | undefined;
  const ref = isPlainObject(spec.boundObjectRef) ? spec.boundObjectRef : undefined;
  if (ref) {
    if (ref.kind !== 'Pod') throw badRequest(`cannot bind a token to a ${String(ref.kind)}: this server binds tokens to Pods only`);
    const podType = mustFind('', 'Pod');
    const found = store.get(podType, namespace, String(ref.name ?? ''));
    if (!found) throw notFound(podType, String(ref.name ?? ''));
    if (ref.uid !== undefined && ref.uid !== found.metadata.uid) {
      throw new StatusError(409, 'Conflict', `the UID in the bound object reference (${String(ref.uid)}) does not match the UID in record. The object might have been deleted and then recreated`);
    }
    const nodeName = (found.spec as { nodeName?: string } | undefined)?.nodeName;
    pod = { name: found.metadata.name, uid: found.metadata.uid, ...(nodeName ? { nodeName } : {}) };
  }
  const issued = tokens.issueBound({
    namespace,
    serviceAccount: { name, uid: sa.metadata.uid },
    ...(pod ? { pod } : {}),
    audiences,
    ...(seconds !== undefined ? { expirationSeconds: seconds } : {}),
  });
  return {
    code: 201,
    body: {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace, creationTimestamp: rfc3339(now) },
      spec: {
        audiences: audiences.length > 0 ? audiences : tokens.apiAudiences,
        expirationSeconds: Math.round((issued.expirationTimestamp - Math.floor(now / 1000) * 1000) / 1000),
        boundObjectRef: ref ? { kind: 'Pod', apiVersion: 'v1', name: pod!.name, uid: pod!.uid } : null,
      },
      status: { token: issued.token, expirationTimestamp: rfc3339(issued.expirationTimestamp) },
    },
  };
}
