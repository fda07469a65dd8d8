// kube-controller-manager's service-account controllers:
// - serviceaccount: every active namespace has a ServiceAccount `default` (recreated if deleted).
// - serviceaccount-token: a Secret of type kubernetes.io/service-account-token naming its service
//   account (annotation kubernetes.io/service-account.name) gets `token` (a legacy token for that
//   account), `ca.crt` and `namespace`, and the account's uid as annotation; a token Secret whose
//   service account does not exist (or was recreated with another uid) is deleted, as are an account's
//   token Secrets when it is deleted.
import type { StoredObject } from '../../k8s/object.js';
import type { ServiceAccountTokens } from '../serviceaccount/tokens.js';
import { SA_NAME_ANNOTATION, SA_UID_ANNOTATION, SECRET_TYPE_SA_TOKEN } from '../../k8s/serviceaccount.js';
import type { ControllerContext } from './context.js';
import type { Reconciler } from './controller.js';
import { NAMESPACES, SECRETS, SERVICE_ACCOUNTS, isAlreadyExists, isNotFound, namespacedKey, splitNamespacedKey } from './resources.js';

const DEFAULT_NAME = 'default';

export function serviceAccountController(ctx: ControllerContext): Reconciler {
  function reconcile(namespace: string): void {
    const ns = ctx.informers.for(NAMESPACES).get(undefined, namespace);
    if (!ns || ns.metadata.deletionTimestamp || (ns.status as { phase?: string } | undefined)?.phase === 'Terminating') return;
    if (ctx.informers.for(SERVICE_ACCOUNTS).get(namespace, DEFAULT_NAME)) return;
    try {
      ctx.store.create(SERVICE_ACCOUNTS, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_NAME, namespace } } as StoredObject);
    } catch (err) {
      if (!isAlreadyExists(err) && !isNotFound(err)) throw err;
    }
  }
  return {
    name: 'serviceaccount',
    watches: [
      { type: NAMESPACES, keysFor: (e) => (e.type === 'DELETED' ? [] : [e.object.metadata.name]) },
      { type: SERVICE_ACCOUNTS, keysFor: (e) => (e.type === 'DELETED' && e.object.metadata.name === DEFAULT_NAME ? [e.object.metadata.namespace ?? ''] : []) },
    ],
    reconcile,
  };
}

function isTokenSecret(obj: StoredObject): boolean {
  return (obj as { type?: unknown }).type === SECRET_TYPE_SA_TOKEN;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export function serviceAccountTokenController(ctx: ControllerContext, tokens: ServiceAccountTokens, caPem: string): Reconciler {
  function reconcile(key: string): void {
    const { namespace, name } = splitNamespacedKey(key);
    const secret = ctx.informers.for(SECRETS).get(namespace, name);
    if (!secret || !isTokenSecret(secret) || secret.metadata.deletionTimestamp) return;
    const annotations = secret.metadata.annotations ?? {};
    const saName = annotations[SA_NAME_ANNOTATION] ?? '';
    const sa = saName ? ctx.informers.for(SERVICE_ACCOUNTS).get(namespace, saName) : undefined;
    const recordedUid = annotations[SA_UID_ANNOTATION];
    if (!sa || (recordedUid !== undefined && recordedUid !== sa.metadata.uid)) {
      ctx.log(`token secret ${namespace}/${name} deleted: its service account ${namespace}/${saName || '(none)'} ${sa ? 'was recreated' : 'does not exist'}`);
      try {
        ctx.store.delete(SECRETS, namespace, name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      return;
    }
    const data = (secret as { data?: Record<string, string> }).data ?? {};
    if (recordedUid === sa.metadata.uid && data.token && data['ca.crt'] && data.namespace) return;
    const token = tokens.issueLegacy(namespace, { name: saName, uid: sa.metadata.uid }, name);
    try {
      ctx.store.update(SECRETS, {
        ...secret,
        metadata: { ...secret.metadata, annotations: { ...annotations, [SA_UID_ANNOTATION]: sa.metadata.uid } },
        data: { ...data, token: b64(token), 'ca.crt': b64(caPem), namespace: b64(namespace) },
      } as StoredObject);
    } catch (err) {
      if (!isNotFound(err)) throw err; // a conflict retries with back-off
    }
  }
  return {
    name: 'serviceaccount-token',
    watches: [
      { type: SECRETS, keysFor: (e) => (e.type !== 'DELETED' && isTokenSecret(e.object) ? [namespacedKey(e.object.metadata.namespace, e.object.metadata.name)] : []) },
      {
        type: SERVICE_ACCOUNTS,
        // The account's token Secrets are looked at again when it goes (and deleted with it).
        keysFor: (e) =>
          ctx.informers
            .for(SECRETS)
            .list(e.object.metadata.namespace)
            .filter((s) => isTokenSecret(s) && s.metadata.annotations?.[SA_NAME_ANNOTATION] === e.object.metadata.name)
            .map((s) => namespacedKey(s.metadata.namespace, s.metadata.name)),
      },
    ],
    reconcile,
  };
}
