// Service accounts as clients of a cluster see them: the legacy token Secret (its type and the
// annotations naming its service account), and where a container finds its pod's token.

export const SECRET_TYPE_SA_TOKEN = 'kubernetes.io/service-account-token';
export const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SA_UID_ANNOTATION = 'kubernetes.io/service-account.uid';

/**
 * Where a container finds its pod's service-account files (token, ca.crt, namespace) when the local
 * kubelet runs it: its containers are host processes without a mount namespace, so the folder is named
 * in this variable, the local stand-in for /var/run/secrets/kubernetes.io/serviceaccount.
 */
export const SERVICEACCOUNT_DIR_ENV = 'MESHWORK_SERVICEACCOUNT_DIR';
