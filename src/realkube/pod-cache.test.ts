import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredObject } from '../k8s/object.js';
import { PodCache } from './pod-cache.js';

const pod = (name: string, uid: string, rv: string, nodeName?: string, phase = 'Pending'): StoredObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid, resourceVersion: rv, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { containers: [{ name: 'c' }], ...(nodeName ? { nodeName } : {}) },
  status: { phase },
});

function recorder(): { cache: PodCache; seen: string[] } {
  const seen: string[] = [];
  const cache = new PodCache((before, after) => {
    const obj = after ?? before!;
    const node = (obj.spec as { nodeName?: string }).nodeName ?? '-';
    seen.push(`${before && after ? 'MODIFIED' : after ? 'ADDED' : 'DELETED'} ${obj.metadata.name} rv=${obj.metadata.resourceVersion} node=${node}`);
  });
  return { cache, seen };
}

describe('the pod cache over two watches', () => {
  it('a pod bound here moves from the unbound watch to the bound one without a DELETED in between', () => {
    const { cache, seen } = recorder();
    cache.apply('unbound', 'ADDED', pod('web', 'u1', '10'));
    const entry = cache.pods.get('default/web')!;
    entry.bindTo = 'n1'; // the node's binding, not yet seen back
    assert.equal((cache.visible('default/web')!.spec as { nodeName?: string }).nodeName, 'n1');
    cache.apply('unbound', 'DELETED', pod('web', 'u1', '11'));
    cache.apply('bound', 'ADDED', pod('web', 'u1', '11', 'n1'));
    assert.deepEqual(seen, ['ADDED web rv=10 node=-', 'MODIFIED web rv=11 node=n1']);
    assert.equal(entry.bindTo, undefined, 'the binding is seen back');
    assert.equal(entry.source, 'bound');
    // A late event of the unbound watch changes nothing.
    cache.apply('unbound', 'MODIFIED', pod('web', 'u1', '10'));
    cache.apply('unbound', 'DELETED', pod('web', 'u1', '12'));
    assert.equal(seen.length, 2);
  });

  it('an unbound pod deleted before anyone bound it is gone; a bound one deleted too', () => {
    const { cache, seen } = recorder();
    cache.apply('unbound', 'ADDED', pod('a', 'ua', '5'));
    cache.apply('unbound', 'DELETED', pod('a', 'ua', '6'));
    cache.apply('bound', 'ADDED', pod('b', 'ub', '7', 'n1'));
    cache.apply('bound', 'DELETED', pod('b', 'ub', '8', 'n1'));
    assert.deepEqual(seen, ['ADDED a rv=5 node=-', 'DELETED a rv=5 node=-', 'ADDED b rv=7 node=n1', 'DELETED b rv=7 node=n1']);
    assert.equal(cache.pods.size, 0);
  });

  it('an event older than the cache is ignored; the node\'s pending status stays over newer server versions', () => {
    const { cache, seen } = recorder();
    cache.apply('bound', 'ADDED', pod('web', 'u1', '20', 'n1'));
    const entry = cache.pods.get('default/web')!;
    entry.status = { phase: 'Running' };
    cache.apply('bound', 'MODIFIED', pod('web', 'u1', '19', 'n1'));
    assert.equal(seen.length, 1, 'version 19 is older than 20');
    cache.apply('bound', 'MODIFIED', pod('web', 'u1', '21', 'n1'));
    assert.equal(entry.server.metadata.resourceVersion, '21');
    assert.deepEqual(cache.visible('default/web')!.status, { phase: 'Running' });
  });

  it('a new pod under the same name replaces the old one: DELETED, then ADDED', () => {
    const { cache, seen } = recorder();
    cache.apply('bound', 'ADDED', pod('web', 'old', '30', 'n1'));
    cache.apply('unbound', 'ADDED', pod('web', 'new', '31'));
    assert.deepEqual(seen, ['ADDED web rv=30 node=n1', 'DELETED web rv=30 node=n1', 'ADDED web rv=31 node=-']);
  });

  it('a relist removes what the source no longer lists and leaves the other source\'s pods alone', () => {
    const { cache, seen } = recorder();
    cache.apply('bound', 'ADDED', pod('kept', 'k', '1', 'n1'));
    cache.apply('bound', 'ADDED', pod('gone', 'g', '2', 'n1'));
    cache.apply('unbound', 'ADDED', pod('waiting', 'w', '3'));
    seen.length = 0;
    cache.replace('bound', [pod('kept', 'k', '1', 'n1')]);
    assert.deepEqual(seen, ['DELETED gone rv=2 node=n1']);
    assert.deepEqual([...cache.pods.keys()].sort(), ['default/kept', 'default/waiting']);
  });

  it('a pod deleted by the node is no longer visible, whatever the watch says meanwhile', () => {
    const { cache } = recorder();
    cache.apply('bound', 'ADDED', pod('web', 'u1', '40', 'n1'));
    cache.pods.get('default/web')!.deleted = true;
    assert.equal(cache.visible('default/web'), undefined);
    cache.apply('bound', 'MODIFIED', pod('web', 'u1', '41', 'n1'));
    assert.equal(cache.visible('default/web'), undefined);
  });
});
