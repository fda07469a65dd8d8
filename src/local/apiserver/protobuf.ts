// Kubernetes' protobuf, both ways. Request bodies, which kubectl's typed clients send (`kubectl create
// deployment|service|namespace|configmap|secret|job ...`, `kubectl debug --copy-to`, `kubectl auth`).
// The wire format: the magic bytes "k8s\0", then a runtime.Unknown {typeMeta, raw} whose raw bytes are
// the object's message. Both are read with Kubernetes' own generated.proto files (k8s/protobuf/) and
// turned into the JSON kubectl would have sent; a kind whose package is not installed gets a 415 that
// says to send JSON or YAML (kubectl apply/create -f). Responses, for clients that ask for protobuf
// (client-go with ContentType protobuf, e.g. Prometheus' Kubernetes discovery): objects, lists and
// watch events of the built-in kinds, encoded from their JSON (k8s/protobuf/from-json.ts).
import protobuf from 'protobufjs';
import { StatusError, badRequest } from '../../k8s/status.js';
import type { ApiDefinitions } from '../../k8s/protobuf/api-definitions.js';
import { installedApiDefinitions } from '../../k8s/protobuf/api-definitions.js';
import { jsonToMessage } from '../../k8s/protobuf/from-json.js';
import { UnreadableBody, messageToJson } from '../../k8s/protobuf/to-json.js';

const MAGIC = Buffer.from('k8s\0', 'latin1');

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

function unsupported(detail: string): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${detail})`,
  );
}

/** Decodes a protobuf request body into the JSON object it stands for. */
export function decodeKubernetesProtobuf(body: Buffer, definitions?: ApiDefinitions): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw unsupported('a protobuf body must start with the k8s magic bytes');
  let defs: ApiDefinitions;
  try {
    defs = definitions ?? installedApiDefinitions();
  } catch (err) {
    throw unsupported(`this server cannot read protobuf: ${(err as Error).message}`);
  }
  const envelope = decode(defs.unknown, body.subarray(4), 'runtime.Unknown');
  const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = typeMeta.apiVersion ?? '';
  const kind = typeMeta.kind ?? '';
  if (envelope.contentEncoding) throw unsupported(`protobuf bodies with contentEncoding ${JSON.stringify(envelope.contentEncoding)} are not read`);
  const type = defs.messageFor(apiVersion, kind);
  if (!type) {
    throw unsupported(
      `protobuf bodies are read for the kinds of ${defs.apiVersions().sort().join(', ')} (Kubernetes ${defs.version}), not ${apiVersion}/${kind}: send JSON or YAML, e.g. kubectl apply -f`,
    );
  }
  const raw = envelope.raw instanceof Uint8Array ? envelope.raw : new Uint8Array();
  const message = decode(type, raw, `${apiVersion}/${kind}`);
  try {
    return { apiVersion, kind, ...(messageToJson(type, message, defs.goTypesOf) as Record<string, unknown>) };
  } catch (err) {
    if (err instanceof UnreadableBody) throw badRequest(err.message);
    throw err;
  }
}

function decode(type: protobuf.Type, bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    return type.decode(bytes) as unknown as Record<string, unknown>;
  } catch (err) {
    // As the apiserver: a body that does not decode is a bad request.
    throw badRequest(`the protobuf body could not be decoded as ${what}: ${(err as Error).message}`);
  }
}

/** The protobuf watch stream's media type (length-delimited WatchEvent frames). */
export const PROTOBUF_WATCH_MEDIA_TYPE = `${PROTOBUF_MEDIA_TYPE};stream=watch`;

const META_STATUS = 'k8s.io.apimachinery.pkg.apis.meta.v1.Status';
const META_WATCH_EVENT = 'k8s.io.apimachinery.pkg.apis.meta.v1.WatchEvent';

/** The message of an object's kind, if Kubernetes defines one (custom resources have none, as in Kubernetes). */
function messageTypeOf(defs: ApiDefinitions, apiVersion: string, kind: string): protobuf.Type | undefined {
  if (kind === 'Status' && apiVersion === 'v1') return defs.root.lookupType(META_STATUS);
  return defs.messageFor(apiVersion, kind);
}

/**
 * An object (with apiVersion and kind) as the apiserver writes it in protobuf: "k8s\0" + runtime.Unknown
 * {typeMeta, raw}. Undefined when its kind has no protobuf message, or this server has no definitions:
 * the caller answers JSON if the client takes it, else 406.
 */
export function encodeKubernetesProtobuf(obj: Record<string, unknown>, definitions?: ApiDefinitions): Buffer | undefined {
  let defs: ApiDefinitions;
  try {
    defs = definitions ?? installedApiDefinitions();
  } catch {
    return undefined;
  }
  const apiVersion = String(obj.apiVersion ?? '');
  const kind = String(obj.kind ?? '');
  const type = messageTypeOf(defs, apiVersion, kind);
  if (!type) return undefined;
  const raw = type.encode(type.fromObject(jsonToMessage(type, obj, defs.goTypesOf) ?? {})).finish();
  const envelope = defs.unknown.encode(defs.unknown.fromObject({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' })).finish();
  return Buffer.concat([MAGIC, envelope]);
}

/**
 * One event of a protobuf watch: a 4-byte big-endian length, then a metav1.WatchEvent (no envelope)
 * whose object is the encoded object with its envelope, as the apiserver's watch encoder frames it.
 */
export function encodeWatchFrame(type: string, encodedObject: Buffer, definitions?: ApiDefinitions): Buffer {
  const defs = definitions ?? installedApiDefinitions();
  const event = defs.root.lookupType(META_WATCH_EVENT);
  const bytes = event.encode(event.fromObject({ type, object: { raw: encodedObject } })).finish();
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
