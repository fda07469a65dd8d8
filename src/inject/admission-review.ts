// admission.k8s.io AdmissionReview, the body of every admission webhook call and answer, and the
// checks each side makes of what the other sent (the API server's of a response, a webhook's of a
// request), with the messages kube-apiserver and Istio's injector give.

export const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  name?: string;
  namespace?: string;
  operation: AdmissionOperation;
  userInfo: UserInfo;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
  options?: unknown;
}

export interface AdmissionStatus {
  code?: number;
  message?: string;
  reason?: string;
  status?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  /** base64 of a JSON Patch document. */
  patch?: string;
  patchType?: 'JSONPatch';
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReview {
  apiVersion: AdmissionApiVersion;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isApiVersion(value: unknown): value is AdmissionApiVersion {
  return ADMISSION_API_VERSIONS.some((v) => v === value);
}

const OPERATIONS: readonly AdmissionOperation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

function gvk(value: unknown, path: string): GroupVersionKind {
  if (!isRecord(value) || typeof value.version !== 'string' || typeof value.kind !== 'string') {
    throw new Error(`${path} must be an object with version and kind`);
  }
  return { group: typeof value.group === 'string' ? value.group : '', version: value.version, kind: value.kind };
}

function gvr(value: unknown, path: string): GroupVersionResource {
  if (!isRecord(value) || typeof value.version !== 'string' || typeof value.resource !== 'string') {
    throw new Error(`${path} must be an object with version and resource`);
  }
  return { group: typeof value.group === 'string' ? value.group : '', version: value.version, resource: value.resource };
}

/** A webhook's reading of the review the API server sent; throws a message fit for a 400. */
export function parseAdmissionReviewRequest(body: unknown): { apiVersion: AdmissionApiVersion; request: AdmissionRequest } {
  if (!isRecord(body)) throw new Error('the body is not a JSON object (expected an AdmissionReview)');
  if (body.kind !== 'AdmissionReview') throw new Error(`expected kind AdmissionReview, got ${JSON.stringify(body.kind ?? null)}`);
  if (!isApiVersion(body.apiVersion)) {
    throw new Error(`unsupported AdmissionReview apiVersion ${JSON.stringify(body.apiVersion ?? null)}; supported: ${ADMISSION_API_VERSIONS.join(', ')}`);
  }
  const req = body.request;
  if (!isRecord(req)) throw new Error('the AdmissionReview has no request');
  if (typeof req.uid !== 'string' || req.uid === '') throw new Error('request.uid is missing');
  const operation = OPERATIONS.find((op) => op === req.operation);
  if (!operation) throw new Error(`request.operation ${JSON.stringify(req.operation ?? null)} is not one of ${OPERATIONS.join(', ')}`);
  const userInfo = isRecord(req.userInfo) && typeof req.userInfo.username === 'string' ? { username: req.userInfo.username } : { username: '' };
  return {
    apiVersion: body.apiVersion,
    request: {
      uid: req.uid,
      kind: gvk(req.kind, 'request.kind'),
      resource: gvr(req.resource, 'request.resource'),
      ...(typeof req.subResource === 'string' ? { subResource: req.subResource } : {}),
      ...(typeof req.name === 'string' ? { name: req.name } : {}),
      ...(typeof req.namespace === 'string' ? { namespace: req.namespace } : {}),
      operation,
      userInfo,
      ...(req.object !== undefined ? { object: req.object } : {}),
      ...(req.oldObject !== undefined ? { oldObject: req.oldObject } : {}),
      ...(typeof req.dryRun === 'boolean' ? { dryRun: req.dryRun } : {}),
    },
  };
}

/**
 * The API server's reading of a webhook's answer (kube-apiserver's VerifyAdmissionResponse): the
 * review kind, the request's uid echoed back, and a JSONPatch when there is a patch.
 */
export function parseAdmissionReviewResponse(body: unknown, expectedUid: string): AdmissionResponse {
  if (!isRecord(body) || body.kind !== 'AdmissionReview' || body.apiVersion !== 'admission.k8s.io/v1') {
    const got = isRecord(body) ? `${String(body.apiVersion ?? '')}, Kind=${String(body.kind ?? '')}` : 'a non-object';
    throw new Error(`expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${got}`);
  }
  const res = body.response;
  if (!isRecord(res)) throw new Error('webhook response was absent');
  if (res.uid !== expectedUid) throw new Error(`expected response.uid=${JSON.stringify(expectedUid)}, got ${JSON.stringify(res.uid ?? '')}`);
  if (typeof res.allowed !== 'boolean') throw new Error('response.allowed is missing or not a boolean');
  const hasPatch = typeof res.patch === 'string' && res.patch !== '';
  if (hasPatch && res.patchType === undefined) throw new Error('webhook returned response.patch but not response.patchType');
  if (res.patchType !== undefined && res.patchType !== 'JSONPatch') {
    throw new Error(`webhook returned response.patchType of ${JSON.stringify(res.patchType)} but "JSONPatch" is the only supported patchType`);
  }
  if (res.patchType !== undefined && !hasPatch) throw new Error('webhook returned response.patchType but not response.patch');
  const status = isRecord(res.status) ? res.status : undefined;
  return {
    uid: expectedUid,
    allowed: res.allowed,
    ...(status
      ? {
          status: {
            ...(typeof status.code === 'number' ? { code: status.code } : {}),
            ...(typeof status.message === 'string' ? { message: status.message } : {}),
            ...(typeof status.reason === 'string' ? { reason: status.reason } : {}),
          },
        }
      : {}),
    ...(hasPatch ? { patch: String(res.patch), patchType: 'JSONPatch' as const } : {}),
    ...(Array.isArray(res.warnings) ? { warnings: res.warnings.filter((w): w is string => typeof w === 'string') } : {}),
  };
}
