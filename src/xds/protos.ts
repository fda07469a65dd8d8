// Envoy v3 / xDS protos, loaded from the .proto files that @grpc/grpc-js-xds ships under deps/.
//
// One protobufjs Root holds the ADS service and every resource type we pack into a
// google.protobuf.Any, so `{'@type': url, ...fields}` packs at any depth (HCM inside a listener
// filter's typed_config, Router inside http_filters, ...). Field numbers always come from the
// .proto files, never from this code.
//
// Object shape (both directions): plain objects with the .proto field names in snake_case
// (keepCase), Duration = {seconds, nanos}, wrappers = {value}, Struct in proto form,
// Any = {'@type': url, ...fields}.
//
// protobufjs is used directly (it is what @grpc/proto-loader wraps) because we need the Root
// itself: to look up Any payload types, to decode with Any expansion, and to validate objects.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import type * as grpc from '@grpc/grpc-js';

export const TYPE_URLS = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  /** Istio's NDS: the names the pod's agent resolves (its DNS proxy), one table per proxy. */
  nameTable: 'type.googleapis.com/istio.networking.nds.v1.NameTable',
  /** The mesh's workloads by IP, for the agent's Istio metrics (the peer's labels), one table per mesh snapshot. */
  workloadTable: 'type.googleapis.com/meshwork.telemetry.v1.WorkloadTable',
} as const;

export type TypeUrl = (typeof TYPE_URLS)[keyof typeof TYPE_URLS];
export type ShortTypeName = 'LDS' | 'RDS' | 'CDS' | 'EDS' | 'SDS' | 'NDS' | 'WDS';

export const SHORT_TYPE_NAMES: Readonly<Record<TypeUrl, ShortTypeName>> = {
  [TYPE_URLS.listener]: 'LDS',
  [TYPE_URLS.route]: 'RDS',
  [TYPE_URLS.cluster]: 'CDS',
  [TYPE_URLS.endpoint]: 'EDS',
  [TYPE_URLS.secret]: 'SDS',
  [TYPE_URLS.nameTable]: 'NDS',
  [TYPE_URLS.workloadTable]: 'WDS',
};

/** Order in which a server should push types so that referenced resources arrive first (as Envoy wants). */
export const TYPE_URL_ORDER: readonly TypeUrl[] = [
  TYPE_URLS.cluster,
  TYPE_URLS.endpoint,
  TYPE_URLS.listener,
  TYPE_URLS.route,
  TYPE_URLS.secret,
  TYPE_URLS.nameTable,
  TYPE_URLS.workloadTable,
];

export function isTypeUrl(value: string): value is TypeUrl {
  return Object.prototype.hasOwnProperty.call(SHORT_TYPE_NAMES, value);
}

/** An Any on the wire, as the ADS service definition below serializes and deserializes it. */
export interface PackedAny {
  type_url: string;
  value: Buffer;
}

/** A packed object that does not fit its proto type; `problems` name the type and the field. */
export class ProtoShapeError extends Error {
  constructor(
    readonly typeName: string,
    readonly problems: string[],
  ) {
    super(`invalid ${typeName}: ${problems.join('; ')}`);
    this.name = 'ProtoShapeError';
  }
}

// The .proto entry points. Everything they import is loaded too. Listed: every resource type we
// serve, and every message that Envoy or gRPC configs carry inside an Any that we may produce.
const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/access_loggers/grpc/v3/als.proto',
  'envoy/service/accesslog/v3/als.proto',
  'envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/load_balancing_policies/pick_first/v3/pick_first.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/load_balancing_policies/client_side_weighted_round_robin/v3/client_side_weighted_round_robin.proto',
  'envoy/service/status/v3/csds.proto',
  'udpa/type/v1/typed_struct.proto',
  'xds/type/v3/typed_struct.proto',
];

/**
 * Options for every decode in this module (unpackAny and the ADS deserializers), passed to
 * protobufjs `Type.toObject`. H relies on exactly these:
 *   longs: Number    int64/uint64 as JS numbers
 *   enums: String    enum values by name ('ROUND_ROBIN')
 *   bytes: (unset)   bytes stay Buffers
 *   defaults: false  fields at their proto3 default and unset messages are absent
 *   arrays: true     repeated fields are always arrays ([] when empty)
 *   objects: true    map fields are always objects ({} when empty)
 *   oneofs: true     each set oneof also gets a virtual key naming its member, e.g. route_specifier: 'rds'
 *   json: true       nested Anys are expanded to {'@type': url, ...fields} (unpackAny only; the ADS
 *                    deserializers use json: false so DiscoveryResponse.resources stay PackedAny)
 * Field names keep their .proto snake_case (the Root is loaded with keepCase: true).
 */
export const UNPACK_OPTIONS: Readonly<protobuf.IConversionOptions> = {
  longs: Number,
  enums: String,
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: true,
  json: true,
};

const WIRE_OPTIONS: Readonly<protobuf.IConversionOptions> = { ...UNPACK_OPTIONS, json: false };

function depsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
}

let loadedRoot: protobuf.Root | undefined;

/**
 * Istio's pkg/dns/proto/nds.proto (package istio.networking.nds.v1), which no npm package ships: the
 * same messages and field numbers, so an Istio agent could read our tables and we could read istiod's.
 */
const NDS_PROTO: Record<string, protobuf.AnyNestedObject> = {
  istio: { nested: { networking: { nested: { nds: { nested: { v1: { nested: {
    NameTable: {
      fields: {
        table: { keyType: 'string', type: 'NameInfo', id: 1 } as protobuf.IMapField,
        name_info: { type: 'NameInfo', id: 2 },
      },
      nested: {
        NameInfo: {
          fields: {
            ips: { rule: 'repeated', type: 'string', id: 1 },
            registry: { type: 'string', id: 2 },
            shortname: { type: 'string', id: 3 },
            namespace: { type: 'string', id: 4 },
            alt_hosts: { rule: 'repeated', type: 'string', id: 5 },
          },
        },
      },
    },
  } } } } } } } },
};

/**
 * The workload table (WDS) the control plane serves each pod's agent next to NDS: every pod endpoint of
 * the mesh by IP, with what Istio's metrics say about a peer (meshwork's own type: Istio's proxies
 * exchange this as peer metadata instead, which upstream Envoy cannot do).
 */
const WORKLOAD_TABLE_PROTO: Record<string, protobuf.AnyNestedObject> = {
  meshwork: { nested: { telemetry: { nested: { v1: { nested: {
    WorkloadTable: {
      fields: {
        workloads: { keyType: 'string', type: 'Workload', id: 1 } as protobuf.IMapField,
      },
      nested: {
        Workload: {
          fields: {
            name: { type: 'string', id: 1 },
            namespace: { type: 'string', id: 2 },
            app: { type: 'string', id: 3 },
            version: { type: 'string', id: 4 },
            cluster: { type: 'string', id: 5 },
            service_account: { type: 'string', id: 6 },
            principal: { type: 'string', id: 7 },
            canonical_service: { type: 'string', id: 8 },
            canonical_revision: { type: 'string', id: 9 },
            services: { rule: 'repeated', type: 'ServicePort', id: 10 },
          },
        },
        ServicePort: {
          fields: {
            host: { type: 'string', id: 1 },
            target_port: { type: 'uint32', id: 2 },
          },
        },
      },
    },
  } } } } } },
};

const STRUCT_FILE = 'google/protobuf/struct.proto';

function camelToSnake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * protobufjs bundles google/protobuf/struct.proto with JSON (camelCase) field names
 * (stringValue, ...), which keepCase cannot undo. Our shape is the .proto names (string_value),
 * so this root gets the bundled definition with its field and oneof names converted, and the
 * file is marked loaded so the bundled one is not added on top. The global bundle stays as it
 * is: other users in the process (grpc-js-xds) rely on it.
 */
function seedSnakeCaseStruct(root: protobuf.Root): void {
  const google = protobuf.common.get(STRUCT_FILE)?.nested?.['google'];
  const pkg = google && 'nested' in google ? google.nested?.['protobuf'] : undefined;
  const bundled = pkg && 'nested' in pkg ? pkg.nested : undefined;
  if (!bundled) throw new Error(`protobufjs does not bundle ${STRUCT_FILE}`);
  const converted: Record<string, protobuf.AnyNestedObject> = {};
  for (const [typeName, definition] of Object.entries(bundled)) {
    if ('fields' in definition) {
      const type = definition as protobuf.IType;
      converted[typeName] = {
        ...type,
        fields: Object.fromEntries(Object.entries(type.fields).map(([name, field]) => [camelToSnake(name), field])),
        ...(type.oneofs
          ? { oneofs: Object.fromEntries(Object.entries(type.oneofs).map(([name, oneof]) => [name, { ...oneof, oneof: oneof.oneof.map(camelToSnake) }])) }
          : {}),
      };
    } else {
      converted[typeName] = definition;
    }
  }
  root.addJSON({ google: { nested: { protobuf: { nested: converted } } } });
  root.files.push(STRUCT_FILE);
}

/** The Root with all protos (loaded once, on first use: it takes a few hundred ms). */
export function protoRoot(): protobuf.Root {
  if (loadedRoot) return loadedRoot;
  const require = createRequire(import.meta.url);
  // descriptor.proto (imported by validate.proto and the udpa annotations) is not built into protobufjs.
  const descriptorJson = require('protobufjs/google/protobuf/descriptor.json') as {
    nested: { google: { nested: { protobuf: { nested: protobuf.INamespace['nested'] } } } };
  };
  const descriptorNested = descriptorJson.nested.google.nested.protobuf.nested;
  if (descriptorNested) protobuf.common('descriptor', descriptorNested);

  const deps = depsDir();
  const includeDirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
  const root = new protobuf.Root();
  const fallbackResolve = root.resolvePath.bind(root);
  root.resolvePath = (origin: string, target: string): string | null => {
    if (isAbsolute(target)) return target;
    for (const dir of includeDirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    // google/protobuf/*.proto built into protobufjs resolve through the default resolver.
    return fallbackResolve(origin, target);
  };
  seedSnakeCaseStruct(root);
  root.addJSON(NDS_PROTO);
  root.addJSON(WORKLOAD_TABLE_PROTO);
  root.loadSync(PROTO_FILES, { keepCase: true });
  root.resolveAll();
  loadedRoot = root;
  return root;
}

function typeNameOfUrl(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/** The protobufjs Type for a fully qualified name or a type URL; throws if it is not loaded. */
export function lookupMessageType(nameOrUrl: string): protobuf.Type {
  const name = typeNameOfUrl(nameOrUrl);
  const found = protoRoot().lookup(name);
  if (!(found instanceof protobuf.Type)) {
    throw new Error(`unknown proto message type '${name}' (not loaded by src/xds/protos.ts)`);
  }
  return found;
}

// ---------- validation: the object must fit the proto, or we say where it does not ----------

const INTEGER_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const FLOAT_TYPES = new Set(['double', 'float']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function checkScalar(kind: string, value: unknown, where: string, problems: string[]): void {
  if (INTEGER_TYPES.has(kind)) {
    const ok =
      (typeof value === 'number' && Number.isInteger(value)) ||
      (typeof value === 'string' && /^-?\d+$/.test(value)) ||
      (typeof value === 'bigint');
    if (!ok) problems.push(`${where}: expected ${kind} (integer), got ${JSON.stringify(value)}`);
    else if (kind.startsWith('u') || kind.startsWith('fixed')) {
      if (Number(value) < 0) problems.push(`${where}: expected ${kind} (unsigned), got ${String(value)}`);
    }
    return;
  }
  if (FLOAT_TYPES.has(kind)) {
    if (typeof value !== 'number' && !(typeof value === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(value))) {
      problems.push(`${where}: expected ${kind} (number), got ${JSON.stringify(value)}`);
    }
    return;
  }
  if (kind === 'bool') {
    if (typeof value !== 'boolean') problems.push(`${where}: expected bool, got ${JSON.stringify(value)}`);
    return;
  }
  if (kind === 'string') {
    if (typeof value !== 'string') problems.push(`${where}: expected string, got ${JSON.stringify(value)}`);
    return;
  }
  if (kind === 'bytes') {
    if (!(value instanceof Uint8Array) && typeof value !== 'string') {
      problems.push(`${where}: expected bytes (Buffer or base64 string), got ${typeof value}`);
    }
    return;
  }
  problems.push(`${where}: unsupported scalar type ${kind}`);
}

function checkValue(field: protobuf.Field, value: unknown, where: string, problems: string[]): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    checkMessage(resolved, value, where, problems);
  } else if (resolved instanceof protobuf.Enum) {
    const ok =
      (typeof value === 'string' && Object.prototype.hasOwnProperty.call(resolved.values, value)) ||
      (typeof value === 'number' && Number.isInteger(value));
    if (!ok) {
      problems.push(`${where}: expected enum ${resolved.fullName.slice(1)} (one of ${Object.keys(resolved.values).join(', ')}), got ${JSON.stringify(value)}`);
    }
  } else {
    checkScalar(field.type, value, where, problems);
  }
}

function checkMessage(type: protobuf.Type, value: unknown, where: string, problems: string[]): void {
  const typeName = type.fullName.slice(1);
  if (!isPlainObject(value)) {
    problems.push(`${where} (${typeName}): expected an object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
    return;
  }
  let actual = type;
  if (typeName === 'google.protobuf.Any' && typeof value['@type'] === 'string') {
    const url = value['@type'];
    const inner = protoRoot().lookup(typeNameOfUrl(url));
    if (!(inner instanceof protobuf.Type)) {
      problems.push(`${where} (google.protobuf.Any): '@type' ${url} is not a loaded proto message type`);
      return;
    }
    if (!url.includes('/')) problems.push(`${where} (google.protobuf.Any): '@type' ${url} must be a type URL (type.googleapis.com/...)`);
    actual = inner;
  }
  const actualName = actual.fullName.slice(1);
  const setOneofMembers = new Map<string, string[]>();
  for (const [key, fieldValue] of Object.entries(value)) {
    if (key === '@type' && actual !== type) continue;
    const field = actual.fields[key];
    if (!field) {
      // With `oneofs: true` a decoded object carries a virtual key naming the set member.
      const oneof = actual.oneofs?.[key];
      if (oneof && (fieldValue === undefined || (typeof fieldValue === 'string' && oneof.oneof.includes(fieldValue)))) continue;
      problems.push(`${where} (${actualName}): unknown field '${key}'`);
      continue;
    }
    if (fieldValue === undefined || fieldValue === null) continue;
    const fieldWhere = `${where}.${key}`;
    if (field.partOf) {
      const members = setOneofMembers.get(field.partOf.name) ?? [];
      members.push(key);
      setOneofMembers.set(field.partOf.name, members);
    }
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(fieldValue)) {
        problems.push(`${fieldWhere} (${actualName}): expected a map object, got ${JSON.stringify(fieldValue)}`);
        continue;
      }
      for (const [mapKey, mapValue] of Object.entries(fieldValue)) checkValue(field, mapValue, `${fieldWhere}[${JSON.stringify(mapKey)}]`, problems);
    } else if (field.repeated) {
      if (!Array.isArray(fieldValue)) {
        problems.push(`${fieldWhere} (${actualName}): expected an array (repeated field), got ${JSON.stringify(fieldValue)}`);
        continue;
      }
      fieldValue.forEach((item: unknown, i: number) => checkValue(field, item, `${fieldWhere}[${i}]`, problems));
    } else {
      checkValue(field, fieldValue, fieldWhere, problems);
    }
  }
  for (const [oneofName, members] of setOneofMembers) {
    if (members.length > 1) problems.push(`${where} (${actualName}): oneof '${oneofName}' has more than one member set: ${members.join(', ')}`);
  }
}

/** The problems that keep `message` from fitting the proto type (name or type URL); [] if it fits. */
export function validateMessage(nameOrUrl: string, message: unknown): string[] {
  const type = lookupMessageType(nameOrUrl);
  const problems: string[] = [];
  checkMessage(type, message, type.name, problems);
  return problems;
}

/** Encodes `message` as the proto type (name or type URL) after checking its shape. Throws ProtoShapeError. */
export function encodeMessage(nameOrUrl: string, message: object): Buffer {
  const type = lookupMessageType(nameOrUrl);
  const problems: string[] = [];
  checkMessage(type, message, type.name, problems);
  if (problems.length > 0) throw new ProtoShapeError(type.fullName.slice(1), problems);
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}

/** Decodes bytes of the proto type (name or type URL) to a plain object with UNPACK_OPTIONS. */
export function decodeMessage(nameOrUrl: string, bytes: Uint8Array): Record<string, unknown> {
  const type = lookupMessageType(nameOrUrl);
  return type.toObject(type.decode(bytes), UNPACK_OPTIONS);
}

/**
 * Packs a plain object as an Any of `typeUrl`. Nested Anys given as {'@type': url, ...fields} pack too.
 * A top-level '@type', if present, must equal typeUrl. Throws ProtoShapeError naming type and field.
 */
export function packAny(typeUrl: string, message: object): PackedAny {
  let fields: object = message;
  if (isPlainObject(message) && '@type' in message) {
    if (message['@type'] !== typeUrl) {
      throw new ProtoShapeError(typeNameOfUrl(typeUrl), [`'@type' ${String(message['@type'])} does not match ${typeUrl}`]);
    }
    const { ['@type']: _ignored, ...rest } = message;
    fields = rest;
  }
  return { type_url: typeUrl, value: encodeMessage(typeUrl, fields) };
}

/** Decodes an Any to a plain object (UNPACK_OPTIONS: snake_case, enums as strings, longs as numbers, nested Anys expanded). */
export function unpackAny(any: { type_url: string; value: Uint8Array }): { typeUrl: string; message: Record<string, unknown> } {
  return { typeUrl: any.type_url, message: decodeMessage(any.type_url, any.value) };
}

// ---------- the ADS service for @grpc/grpc-js ----------

/** The node a proxy identifies as (envoy.config.core.v3.Node), decoded with UNPACK_OPTIONS minus json. */
export interface XdsNode {
  id?: string;
  cluster?: string;
  /** google.protobuf.Struct in proto form: {fields: {k: {string_value: ...}}}. */
  metadata?: { fields?: Record<string, unknown> };
  user_agent_name?: string;
  user_agent_version?: string;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  client_features?: string[];
  [field: string]: unknown;
}

/** google.rpc.Status as decoded. */
export interface RpcStatus {
  code?: number;
  message?: string;
  details?: PackedAny[];
}

export interface DiscoveryRequest {
  version_info?: string;
  node?: XdsNode;
  resource_names: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: PackedAny[];
  type_url: string;
  nonce: string;
  canary?: boolean;
}

export interface DeltaDiscoveryRequest {
  node?: XdsNode;
  type_url?: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

export interface DeltaResource {
  name: string;
  version: string;
  resource?: PackedAny;
  aliases?: string[];
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

function wireSerializer(typeName: string): (value: object) => Buffer {
  // Wire messages are produced by our own code; a shape problem is a bug and must surface.
  return (value: object) => encodeMessage(typeName, value);
}

/**
 * For the server's responses: typed by DiscoveryResponse / DeltaDiscoveryResponse, made of strings
 * and already-encoded Anys, so protobufjs encodes them as they are. The shape check and fromObject
 * of encodeMessage cost more than the encoding itself at a thousand streams per push.
 */
function responseSerializer(typeName: string): (value: object) => Buffer {
  const type = lookupMessageType(typeName);
  return (value: object) => {
    const bytes = type.encode(value).finish();
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function wireDeserializer<T>(typeName: string): (bytes: Buffer) => T {
  const type = lookupMessageType(typeName);
  // T is the documented decoded shape of typeName under WIRE_OPTIONS.
  return (bytes: Buffer) => type.toObject(type.decode(bytes), WIRE_OPTIONS) as T;
}

export interface AdsServiceDefinition extends grpc.ServiceDefinition {
  StreamAggregatedResources: grpc.MethodDefinition<DiscoveryRequest, DiscoveryResponse>;
  DeltaAggregatedResources: grpc.MethodDefinition<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
}

let adsDefinition: AdsServiceDefinition | undefined;

/**
 * The ADS service definition for grpc.Server.addService / grpc.makeGenericClientConstructor.
 * Messages are the interfaces above; Any fields (resources) stay PackedAny on the wire.
 */
export function adsServiceDefinition(): AdsServiceDefinition {
  if (adsDefinition) return adsDefinition;
  const service = protoRoot().lookupService(ADS_SERVICE);
  const sotw = service.methods['StreamAggregatedResources'];
  const delta = service.methods['DeltaAggregatedResources'];
  if (!sotw || !delta) throw new Error(`${ADS_SERVICE} lacks its methods in the loaded protos`);
  adsDefinition = {
    StreamAggregatedResources: {
      path: `/${ADS_SERVICE}/StreamAggregatedResources`,
      requestStream: true,
      responseStream: true,
      requestSerialize: wireSerializer('envoy.service.discovery.v3.DiscoveryRequest'),
      requestDeserialize: wireDeserializer<DiscoveryRequest>('envoy.service.discovery.v3.DiscoveryRequest'),
      responseSerialize: responseSerializer('envoy.service.discovery.v3.DiscoveryResponse'),
      responseDeserialize: wireDeserializer<DiscoveryResponse>('envoy.service.discovery.v3.DiscoveryResponse'),
      originalName: 'streamAggregatedResources',
    },
    DeltaAggregatedResources: {
      path: `/${ADS_SERVICE}/DeltaAggregatedResources`,
      requestStream: true,
      responseStream: true,
      requestSerialize: wireSerializer('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
      requestDeserialize: wireDeserializer<DeltaDiscoveryRequest>('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
      responseSerialize: responseSerializer('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
      responseDeserialize: wireDeserializer<DeltaDiscoveryResponse>('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
      originalName: 'deltaAggregatedResources',
    },
  };
  return adsDefinition;
}
