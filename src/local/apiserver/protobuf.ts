// Kubernetes' protobuf request bodies, which kubectl's typed clients send (`kubectl create
// deployment|service|namespace|configmap|secret|job ...`, `kubectl debug --copy-to`, `kubectl auth`).
// The wire format: the magic bytes "k8s\0", then a runtime.Unknown {typeMeta, raw} whose raw bytes are
// the object's message. Both are read with Kubernetes' own generated.proto files (k8s/protobuf/) and
// turned into the JSON kubectl would have sent; a kind whose package is not installed gets a 415 that
// says to send JSON or YAML (kubectl apply/create -f).
import protobuf from 'protobufjs';
import { StatusError, badRequest } from '../../config/status.js';
import type { ApiDefinitions } from '../../k8s/protobuf/api-definitions.js';
import { installedApiDefinitions } from '../../k8s/protobuf/api-definitions.js';
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
