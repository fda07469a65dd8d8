import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import { nodeFor } from '../cluster-objects.js';
import type { DaemonPod, NodeState } from './daemonset-plan.js';
import { daemonSetCounts, planManage, planRollingUpdate } from './daemonset-plan.js';
import { nodeShouldRunDaemonPod, targetNodeOf } from './node-placement.js';
import { isRecord, record } from './read.js';
import { DAEMONSETS, NODES, PODS } from './resources.js';
import type { TestCluster } from './testing.js';
import { createAsApiServer, list, readyAll, startTestCluster } from './testing.js';

let cluster: TestCluster;
afterEach(() => cluster?.close());

const NODE = 'cluster-1-node';

function withNode(): TestCluster {
  return startTestCluster('cluster-1', (store) => store.create(NODES, nodeFor(NODE, '127.10.0.1', Date.UTC(2026, 0, 1))));
}

function dsObject(name: string, podSpec: Record<string, unknown> = {}, image = 'agent:v1'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'default' },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }], ...podSpec } } },
  };
}

function status(name: string): Record<string, unknown> {
  const s = cluster.store.get(DAEMONSETS, 'default', name)?.status;
  return isRecord(s) ? s : {};
}

function activePods(): StoredObject[] {
  return list(cluster.store, PODS).filter((p) => !p.metadata.deletionTimestamp);
}

describe('daemonset controller', () => {
  test('one pod on the node, pinned to it, with the daemon tolerations; status counts it', async () => {
    cluster = withNode();
    createAsApiServer(cluster, DAEMONSETS, dsObject('agent'));
    await cluster.settle();
    const pods = activePods();
    assert.equal(pods.length, 1);
    const pod = pods[0]!;
    assert.equal(pod.metadata.generateName, 'agent-');
    assert.equal(targetNodeOf(pod), NODE);
    assert.equal(pod.metadata.labels?.['pod-template-generation'], '1');
    const hash = pod.metadata.labels?.['controller-revision-hash'];
    assert.match(hash ?? '', /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    const tolerations = isRecord(pod.spec) && Array.isArray(pod.spec.tolerations) ? pod.spec.tolerations : [];
    assert.ok(tolerations.some((t) => isRecord(t) && t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute'));
    assert.deepEqual(
      { d: status('agent').desiredNumberScheduled, c: status('agent').currentNumberScheduled, r: status('agent').numberReady, u: status('agent').updatedNumberScheduled, a: status('agent').numberAvailable },
      { d: 1, c: 1, r: 0, u: 1, a: 0 },
    );
    readyAll(cluster);
    await cluster.settle();
    assert.equal(status('agent').numberReady, 1);
    assert.equal(status('agent').numberAvailable, 1);
    assert.equal(status('agent').numberUnavailable, undefined);
  });

  test('a nodeSelector the node does not match: no pod; labelling the node brings one, unlabelling removes it', async () => {
    cluster = withNode();
    createAsApiServer(cluster, DAEMONSETS, dsObject('gpu', { nodeSelector: { accelerator: 'gpu' } }));
    await cluster.settle();
    assert.equal(activePods().length, 0);
    assert.equal(status('gpu').desiredNumberScheduled, 0);
    const node = cluster.store.get(NODES, undefined, NODE)!;
    cluster.store.update(NODES, { ...node, metadata: { ...node.metadata, labels: { ...node.metadata.labels, accelerator: 'gpu' } } });
    await cluster.settle();
    assert.equal(activePods().length, 1);
    const labelled = cluster.store.get(NODES, undefined, NODE)!;
    const { accelerator: _removed, ...labels } = labelled.metadata.labels ?? {};
    cluster.store.update(NODES, { ...labelled, metadata: { ...labelled.metadata, labels } });
    await cluster.settle();
    assert.equal(activePods().length, 0);
  });

  test('a template change replaces the pod (maxUnavailable 1)', async () => {
    cluster = withNode();
    createAsApiServer(cluster, DAEMONSETS, dsObject('agent'));
    await cluster.settle();
    readyAll(cluster);
    await cluster.settle();
    const before = activePods()[0]!;
    const ds = cluster.store.get(DAEMONSETS, 'default', 'agent')!;
    const spec = structuredClone(record(ds.spec, 'spec'));
    record(record(spec.template, 't').spec, 's').containers = [{ name: 'app', image: 'agent:v2' }];
    cluster.store.update(DAEMONSETS, { ...ds, spec });
    await cluster.settle();
    const after = activePods();
    assert.equal(after.length, 1);
    assert.notEqual(after[0]!.metadata.uid, before.metadata.uid);
    assert.notEqual(after[0]!.metadata.labels?.['controller-revision-hash'], before.metadata.labels?.['controller-revision-hash']);
    assert.equal(status('agent').updatedNumberScheduled, 1);
    assert.equal(status('agent').observedGeneration, 2);
  });
});

describe('daemon pod placement and planning', () => {
  const node = (labels: Record<string, string>, taints: unknown[] = []): KubeObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels }, spec: { taints } });
  const pod = (name: string, o: Partial<DaemonPod> = {}): DaemonPod => ({
    pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name, uid: name, resourceVersion: '1', creationTimestamp: `2026-01-01T00:00:0${name.length}Z` }, spec: { nodeName: 'n1' } },
    hash: 'new',
    deleting: false,
    failed: false,
    succeeded: false,
    ready: true,
    available: true,
    ...o,
  });

  test('nodeSelector, required node affinity and taints decide where a daemon pod runs', () => {
    assert.equal(nodeShouldRunDaemonPod(node({ zone: 'a' }), { nodeSelector: { zone: 'a' } }).run, true);
    assert.match(nodeShouldRunDaemonPod(node({ zone: 'b' }), { nodeSelector: { zone: 'a' } }).reason ?? '', /does not match nodeSelector zone=a/);
    const affinity = (op: string, values: string[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: op, values }] }] } } } });
    assert.equal(nodeShouldRunDaemonPod(node({ zone: 'a' }), affinity('In', ['a', 'c'])).run, true);
    assert.equal(nodeShouldRunDaemonPod(node({ zone: 'a' }), affinity('NotIn', ['a'])).run, false);
    assert.equal(nodeShouldRunDaemonPod(node({}, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]), {}).run, false);
    assert.equal(nodeShouldRunDaemonPod(node({}, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]), { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db' }] }).run, true);
    // The daemon tolerations: a cordoned or pressured node still runs its daemons.
    assert.equal(nodeShouldRunDaemonPod(node({}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]), {}).run, true);
  });

  test('manage: a pod where one belongs, surplus and failed pods deleted, none where none belongs', () => {
    const nodes = (pods: DaemonPod[], shouldRun = true): NodeState[] => [{ name: 'n1', shouldRun, pods }];
    assert.deepEqual(planManage(nodes([]), 'new', false), { create: ['n1'], delete: [] });
    assert.deepEqual(planManage(nodes([pod('a'), pod('bb')]), 'new', false).delete.map((p) => p.pod.metadata.name), ['bb'], 'the oldest stays');
    assert.deepEqual(planManage(nodes([pod('a', { failed: true })]), 'new', false).delete.map((p) => p.pod.metadata.name), ['a']);
    assert.deepEqual(planManage(nodes([pod('a')], false), 'new', false).delete.map((p) => p.pod.metadata.name), ['a']);
  });

  test('rolling update: an old available pod goes within maxUnavailable; with maxSurge a new pod comes first', () => {
    const nodes: NodeState[] = [{ name: 'n1', shouldRun: true, pods: [pod('old', { hash: 'old' })] }];
    assert.deepEqual(planRollingUpdate(nodes, 'new', 0, 1).delete.map((p) => p.pod.metadata.name), ['old']);
    assert.deepEqual(planRollingUpdate(nodes, 'new', 0, 0).delete, []);
    assert.deepEqual(planRollingUpdate(nodes, 'new', 1, 0), { create: ['n1'], delete: [] });
    const surged: NodeState[] = [{ name: 'n1', shouldRun: true, pods: [pod('old', { hash: 'old' }), pod('new1')] }];
    assert.deepEqual(planRollingUpdate(surged, 'new', 1, 0).delete.map((p) => p.pod.metadata.name), ['old'], 'the old pod goes once the new one is available');
    assert.deepEqual(daemonSetCounts(surged, 'new'), { desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 0, numberReady: 1, numberAvailable: 1, numberUnavailable: 0, updatedNumberScheduled: 0 });
  });
});
