import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMeshSnapshot } from '../registry/build.js';
import type { MeshEndpoint, MeshService, MeshSnapshot } from '../registry/model.js';
import { service } from '../registry/testdata/kube-fixtures.js';
import { buildNameTable, lookupNames } from './name-table.js';

function svc(name: string, namespace: string, clusterIPs?: Record<string, string>): MeshService {
  return { hostname: `${name}.${namespace}.svc.cluster.local`, name, namespace, ports: [{ port: 80, protocol: 'TCP' }], clusters: Object.keys(clusterIPs ?? { 'cluster-1': '' }), ...(clusterIPs ? { clusterIPs } : {}) };
}

function endpoint(hostname: string, cluster: string, address: string, ready = true): MeshEndpoint {
  return { hostname, cluster, address, ports: { '80': 80 }, labels: {}, locality: { region: 'local', zone: cluster }, ready, namespace: 'sample', hasSidecar: false };
}

function mesh(services: MeshService[], endpoints: MeshEndpoint[] = [], serviceEntries: MeshSnapshot['serviceEntries'] = []): MeshSnapshot {
  return { services, endpoints, virtualServices: [], destinationRules: [], gateways: [], serviceEntries, domainSuffix: 'cluster.local', version: 'test' };
}

test('the registry keeps each cluster\'s ClusterIP of a Service, none for a headless one', () => {
  const withIp = (clusterIP: string) => ({ ...service('helloworld', 'sample', [{ name: 'http', port: 5000 }]), spec: { ...service('helloworld', 'sample', [{ name: 'http', port: 5000 }]).spec, clusterIP } });
  const clusters = [
    { clusterId: 'cluster-1', services: [withIp('127.11.0.7')], endpointSlices: [], pods: [], namespaces: [] },
    { clusterId: 'cluster-2', services: [withIp('127.21.0.9')], endpointSlices: [], pods: [], namespaces: [] },
    { clusterId: 'cluster-3', services: [withIp('None')], endpointSlices: [], pods: [], namespaces: [] },
  ];
  const [hello] = buildMeshSnapshot({ clusters, config: [] }).snapshot.services;
  assert.deepEqual(hello.clusterIPs, { 'cluster-1': '127.11.0.7', 'cluster-2': '127.21.0.9' });
  assert.deepEqual(hello.clusters, ['cluster-1', 'cluster-2', 'cluster-3']);
});

test('a Service resolves to its ClusterIP in the proxy\'s cluster, else to a remote cluster\'s (the first by name)', () => {
  const snapshot = mesh([
    svc('helloworld', 'sample', { 'cluster-1': '127.11.0.7', 'cluster-2': '127.21.0.9' }),
    svc('remote-only', 'sample', { 'cluster-3': '127.31.0.4', 'cluster-2': '127.21.0.5' }),
  ]);
  assert.deepEqual(buildNameTable(snapshot, 'cluster-1').table, {
    'helloworld.sample.svc.cluster.local': { ips: ['127.11.0.7'], registry: 'Kubernetes', shortname: 'helloworld', namespace: 'sample' },
    'remote-only.sample.svc.cluster.local': { ips: ['127.21.0.5'], registry: 'Kubernetes', shortname: 'remote-only', namespace: 'sample' },
  });
  assert.deepEqual(buildNameTable(snapshot, 'cluster-2').table['helloworld.sample.svc.cluster.local']?.ips, ['127.21.0.9']);
});

test('a headless Service resolves to its ready endpoints in the proxy\'s own cluster only', () => {
  const host = 'db.sample.svc.cluster.local';
  const snapshot = mesh([svc('db', 'sample')], [endpoint(host, 'cluster-1', '127.10.0.9'), endpoint(host, 'cluster-1', '127.10.0.3'), endpoint(host, 'cluster-1', '127.10.0.4', false), endpoint(host, 'cluster-2', '127.20.0.3')]);
  assert.deepEqual(buildNameTable(snapshot, 'cluster-1').table[host]?.ips, ['127.10.0.3', '127.10.0.9']);
  assert.equal(buildNameTable(snapshot, 'cluster-3').table[host], undefined, 'no endpoint in the proxy\'s cluster: no entry');
});

test('ServiceEntries with IP addresses are named; a Kubernetes Service of the same host wins', () => {
  const se = (name: string, hosts: string[], addresses?: string[]) => ({ name, namespace: 'sample', cluster: 'cluster-1', spec: { hosts, ...(addresses ? { addresses } : {}) } });
  const snapshot = mesh([svc('helloworld', 'sample', { 'cluster-1': '127.11.0.7' })], [], [
    se('db', ['db.example.com'], ['10.1.2.3', '192.168.0.0/16']),
    se('no-vip', ['api.example.com']),
    se('wild', ['*.example.org'], ['10.9.9.9']),
    se('decorates', ['helloworld.sample.svc.cluster.local'], ['10.0.0.1']),
  ]);
  const table = buildNameTable(snapshot, 'cluster-1').table;
  assert.deepEqual(table['db.example.com'], { ips: ['10.1.2.3'], registry: 'External' }, 'a CIDR is not an address');
  assert.equal(table['api.example.com'], undefined);
  assert.equal(Object.keys(table).some((h) => h.includes('*')), false);
  assert.deepEqual(table['helloworld.sample.svc.cluster.local']?.ips, ['127.11.0.7']);
});

test('a pod resolves name.ns, name.ns.svc and the FQDN of every Service, and the bare name of its own namespace\'s', () => {
  const table = buildNameTable(mesh([svc('helloworld', 'sample', { 'cluster-1': '127.11.0.7' }), svc('istiod', 'istio-system', { 'cluster-1': '127.11.0.2' })]), 'cluster-1');
  table.table['db.example.com'] = { ips: ['10.1.2.3'], registry: 'External' };
  const names = lookupNames(table, 'sample');
  assert.deepEqual([...names.keys()].sort(), [
    'db.example.com',
    'helloworld',
    'helloworld.sample',
    'helloworld.sample.svc',
    'helloworld.sample.svc.cluster.local',
    'istiod.istio-system',
    'istiod.istio-system.svc',
    'istiod.istio-system.svc.cluster.local',
  ]);
  assert.deepEqual(names.get('helloworld.sample'), ['127.11.0.7']);
  assert.equal(lookupNames(table, 'istio-system').has('helloworld'), false);
});

test('a name that is both a table host and a Service\'s short form resolves as the table host', () => {
  const table = buildNameTable(mesh([svc('helloworld', 'sample', { 'cluster-1': '127.11.0.7' })]), 'cluster-1');
  table.table['helloworld.sample'] = { ips: ['10.0.0.1'], registry: 'External' };
  assert.deepEqual(lookupNames(table, 'sample').get('helloworld.sample'), ['10.0.0.1']);
});
