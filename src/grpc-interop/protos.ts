// grpc.testing's protos (test.proto: TestService, LoadBalancerStatsService,
// XdsUpdateClientConfigureService) for the Node side, and as a FileDescriptorSet for the Python client,
// which builds its messages at run time so that one script runs on every grpcio version.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

export function loadTestProtos(protoDir: string): grpc.GrpcObject {
  const definition = protoLoader.loadSync('grpc/testing/test.proto', { includeDirs: [protoDir], keepCase: true, defaults: true, longs: Number, enums: String });
  return grpc.loadPackageDefinition(definition);
}

export function testingService(protos: grpc.GrpcObject, name: string): grpc.ServiceClientConstructor {
  const ctor = (protos['grpc'] as grpc.GrpcObject | undefined)?.['testing'] as grpc.GrpcObject | undefined;
  const service = ctor?.[name];
  if (typeof service !== 'function' || !('service' in service)) throw new Error(`grpc.testing.${name} is not in the loaded protos`);
  return service;
}

interface DescriptorMessage {
  name: string;
  field?: Array<{ name: string; typeName?: string }>;
  nestedType?: DescriptorMessage[];
  options?: { mapEntry?: boolean };
}

/**
 * protobufjs names a map's entry type after the field (`Rpcs_by_peer`); protoc, and the C++ protobuf
 * runtime that checks it, want `RpcsByPeerEntry`.
 */
function protocMapEntryNames(message: DescriptorMessage): void {
  for (const nested of message.nestedType ?? []) {
    protocMapEntryNames(nested);
    if (!nested.options?.mapEntry) continue;
    const field = message.field?.find((f) => f.typeName === nested.name);
    if (!field) continue;
    const entryName = `${field.name.replace(/(^|_)([a-z0-9])/g, (_m, _u: string, c: string) => c.toUpperCase())}Entry`;
    nested.name = entryName;
    field.typeName = entryName;
  }
}

/** Writes test.proto and its imports as one FileDescriptorSet (binary) to `path`. */
export function writeDescriptorSet(protoDir: string, path: string): void {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protoDir, target);
  root.loadSync('grpc/testing/test.proto', { keepCase: true });
  const set = (root as unknown as { toDescriptor(syntax: string): { file: Array<{ messageType?: DescriptorMessage[] }> } }).toDescriptor('proto3');
  for (const file of set.file) for (const message of file.messageType ?? []) protocMapEntryNames(message);
  writeFileSync(path, descriptor.FileDescriptorSet.encode(set as never).finish());
}
