import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResolvConf, renderHostsFile, renderResolvConf } from './pod-files.js';

test('the hosts file: Kubernetes\' lines, the pod\'s hostname, then one line per mesh address, the FQDN first', () => {
  const names = new Map([
    ['helloworld', ['127.11.0.7']],
    ['helloworld.sample', ['127.11.0.7']],
    ['helloworld.sample.svc.cluster.local', ['127.11.0.7']],
    ['db.sample.svc.cluster.local', ['127.10.0.3', '127.10.0.9']],
  ]);
  const text = renderHostsFile({ ip: '127.10.0.5', hostname: 'sleep-abc' }, names);
  const lines = text.trimEnd().split('\n');
  assert.ok(lines.includes('127.0.0.1\tlocalhost'));
  assert.ok(lines.includes('127.10.0.5\tsleep-abc'));
  assert.ok(lines.includes('127.11.0.7\thelloworld.sample.svc.cluster.local helloworld.sample helloworld'));
  assert.ok(lines.includes('127.10.0.3\tdb.sample.svc.cluster.local'));
  assert.ok(lines.includes('127.10.0.9\tdb.sample.svc.cluster.local'));
  assert.ok(text.endsWith('\n'));
  assert.doesNotMatch(renderHostsFile({ ip: '127.10.0.5', hostname: 'p' }), /Mesh services/, 'no mesh section before the first table');
});

test('resolv.conf: the namespace\'s search list before the host\'s, ndots:5, the host\'s nameservers and options', () => {
  const host = parseResolvConf('# generated\nnameserver 10.255.255.53\nnameserver 10.0.0.2 # second\nsearch corp.example\noptions ndots:1 timeout:2\n');
  assert.deepEqual(host, { nameservers: ['10.255.255.53', '10.0.0.2'], search: ['corp.example'], options: ['ndots:1', 'timeout:2'] });
  assert.equal(
    renderResolvConf('sample', host),
    '# Kubernetes-managed resolv.conf (meshwork: mesh names are in /etc/hosts, written by the sidecar agent).\n' +
      'search sample.svc.cluster.local svc.cluster.local cluster.local corp.example\n' +
      'nameserver 10.255.255.53\nnameserver 10.0.0.2\noptions ndots:5 timeout:2\n',
  );
  assert.deepEqual(parseResolvConf('search a b\ndomain c\n').search, ['c'], 'the last search/domain line wins, as in glibc');
});
