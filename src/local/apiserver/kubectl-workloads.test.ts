// The real kubectl against the server for Jobs, StatefulSets, DaemonSets and the RBAC kinds: what the
// API server itself does (a Job's generated selector, defaults, validation and update rules, tables,
// the scale subresource, the Job delete default, the bootstrap cluster-admin binding). No controllers
// run here: test/e2e/workloads.test.ts drives the controllers and the kubelet.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { registerClusterObjects } from '../cluster-objects.js';
import type { NamespacedKubectl, TestCluster } from './test-support.js';
import { startSampleCluster } from './test-support.js';

const JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: busybox
        command: ["sh", "-c", "echo done"]
`;

const STS = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: busybox
`;

const DS = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      nodeSelector: {disk: ssd}
      containers:
      - name: agent
        image: busybox
`;

/** The header row and the first data row of a kubectl table, split on runs of spaces. */
function table(out: string): { header: string[]; row: string[] } {
  const [header = '', row = ''] = out.trim().split('\n');
  return { header: header.trim().split(/\s{2,}/), row: row.trim().split(/\s{2,}/) };
}

describe('kubectl and the workload and RBAC kinds', () => {
  let c: TestCluster;
  let k: NamespacedKubectl;

  before(async () => {
    ({ cluster: c, k } = await startSampleCluster());
    registerClusterObjects(c.store, { nodeName: 'test-node', nodeIp: '127.0.0.1', now: Date.now() });
  });
  after(() => c.close());

  test('a Job gets its selector and pod labels from its uid and name, and the 1.32 defaults', async () => {
    const r = await k(['apply', '-f', '-'], JOB);
    assert.equal(r.code, 0, r.stderr);
    const job = JSON.parse((await k(['get', 'job', 'pi', '-o', 'json'])).stdout) as { metadata: { uid: string; labels: Record<string, string> }; spec: Record<string, unknown> & { selector: unknown; template: { metadata: { labels: Record<string, string> } } } };
    const uid = job.metadata.uid;
    assert.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
    const labels = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': uid, 'job-name': 'pi' };
    assert.deepEqual(job.spec.template.metadata.labels, labels);
    assert.deepEqual(job.metadata.labels, labels, 'the template labels label the Job');
    assert.deepEqual(
      { completions: job.spec.completions, parallelism: job.spec.parallelism, completionMode: job.spec.completionMode, suspend: job.spec.suspend, podReplacementPolicy: job.spec.podReplacementPolicy },
      { completions: 1, parallelism: 1, completionMode: 'NonIndexed', suspend: false, podReplacementPolicy: 'TerminatingOrFailed' },
    );
    // Applying the same manifest again leaves the generated fields alone.
    const again = await k(['apply', '-f', '-'], JOB);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /job.batch\/pi unchanged/);
  });

  test('kubectl get jobs: NAME STATUS COMPLETIONS DURATION AGE, from status', async () => {
    const path = '/apis/batch/v1/namespaces/sample/jobs/pi/status';
    const start = new Date(Date.now() - 65_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const done = new Date(Date.now() - 20_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const patch = { status: { startTime: start, completionTime: done, succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } };
    assert.equal((await c.request('PATCH', path, { body: patch, contentType: 'application/merge-patch+json' })).status, 200);
    const { header, row } = table((await k(['get', 'jobs'])).stdout);
    assert.deepEqual(header, ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE']);
    assert.deepEqual(row.slice(0, 4), ['pi', 'Complete', '1/1', '45s']);
    const wide = table((await k(['get', 'jobs', '-o', 'wide'])).stdout);
    assert.deepEqual(wide.header, ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
    assert.match(wide.row[7] ?? '', /^batch\.kubernetes\.io\/controller-uid=/);
  });

  test('what the apiserver refuses for Jobs: restartPolicy Always, a changed template, unsupported features', async () => {
    const always = await k(['apply', '-f', '-'], JOB.replace('name: pi\n', 'name: always\n').replace('restartPolicy: Never', 'restartPolicy: Always'));
    assert.notEqual(always.code, 0);
    assert.match(always.stderr, /spec\.template\.spec\.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"/);
    const changed = await k(['apply', '-f', '-'], JOB.replace('echo done', 'echo changed'));
    assert.notEqual(changed.code, 0);
    assert.match(changed.stderr, /spec\.template: Invalid value: .*field is immutable/);
    const indexed = await k(['apply', '-f', '-'], JOB.replace('name: pi\n', 'name: indexed\n').replace('backoffLimit: 2', 'completionMode: Indexed\n  completions: 2'));
    assert.notEqual(indexed.code, 0);
    assert.match(indexed.stderr, /spec\.completionMode: Forbidden: Indexed jobs are not supported by the local clusters' job controller/);
    const manual = await k(['apply', '-f', '-'], JOB.replace('name: pi\n', 'name: manual\n').replace('backoffLimit: 2', 'selector:\n    matchLabels: {a: b}'));
    assert.notEqual(manual.code, 0);
    assert.match(manual.stderr, /spec\.selector: Invalid value: .*`selector` not auto-generated/);
  });

  test('kubectl create job, client side, applied: the command and restartPolicy Never', async () => {
    const made = await k(['create', 'job', 'hello', '--image=busybox', '--dry-run=client', '-o', 'yaml', '--', 'sh', '-c', 'echo hi']);
    assert.equal(made.code, 0, made.stderr);
    const applied = await k(['apply', '-f', '-'], made.stdout);
    assert.equal(applied.code, 0, applied.stderr);
    const spec = JSON.parse((await k(['get', 'job', 'hello', '-o', 'jsonpath={.spec.template.spec}'])).stdout) as { restartPolicy: string; containers: Array<{ command: string[] }> };
    assert.equal(spec.restartPolicy, 'Never');
    assert.deepEqual(spec.containers[0]?.command, ['sh', '-c', 'echo hi']);
  });

  test('deleting a Job without a propagation policy orphans its pods, with the apiserver\'s warning', async () => {
    assert.equal((await k(['apply', '-f', '-'], JOB.replace('name: pi\n', 'name: plain-delete\n'))).code, 0);
    const r = await c.request('DELETE', '/apis/batch/v1/namespaces/sample/jobs/plain-delete');
    assert.equal(r.status, 200);
    assert.match(String(r.headers.warning), /child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them/);
    assert.deepEqual((r.json() as { metadata: { finalizers: string[] } }).metadata.finalizers, ['orphan']);
  });

  test('StatefulSet: defaults, table, scale subresource; volumeClaimTemplates refused by name', async () => {
    assert.equal((await k(['apply', '-f', '-'], STS)).code, 0);
    const spec = JSON.parse((await k(['get', 'sts', 'web', '-o', 'jsonpath={.spec}'])).stdout) as Record<string, unknown>;
    assert.equal(spec.podManagementPolicy, 'OrderedReady');
    assert.deepEqual(spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    assert.equal(spec.revisionHistoryLimit, 10);
    const { header, row } = table((await k(['get', 'statefulsets'])).stdout);
    assert.deepEqual(header, ['NAME', 'READY', 'AGE']);
    assert.deepEqual(row.slice(0, 2), ['web', '0/3']);
    const scaled = await k(['scale', 'sts', 'web', '--replicas=1']);
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.match(scaled.stdout, /statefulset.apps\/web scaled/);
    assert.equal((await k(['get', 'sts', 'web', '-o', 'jsonpath={.spec.replicas}'])).stdout, '1');
    const forbidden = await k(['patch', 'sts', 'web', '--type=merge', '-p', '{"spec":{"serviceName":"other"}}']);
    assert.match(forbidden.stderr, /spec: Forbidden: updates to statefulset spec for fields other than 'replicas'/);

    const withClaims = `${STS.replace('name: web\n', 'name: db\n')}  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec:\n      accessModes: [ReadWriteOnce]\n      resources: {requests: {storage: 1Gi}}\n`;
    const refused = await k(['apply', '-f', '-'], withClaims);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /spec\.volumeClaimTemplates: Forbidden: the local clusters have no storage \(PersistentVolumeClaims are not served\)/);
  });

  test('DaemonSet: defaults and the DESIRED ... NODE SELECTOR table', async () => {
    assert.equal((await k(['apply', '-f', '-'], DS)).code, 0);
    const strategy = JSON.parse((await k(['get', 'ds', 'agent', '-o', 'jsonpath={.spec.updateStrategy}'])).stdout) as unknown;
    assert.deepEqual(strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    const { header, row } = table((await k(['get', 'daemonsets'])).stdout);
    assert.deepEqual(header, ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE']);
    assert.deepEqual(row.slice(0, 7), ['agent', '0', '0', '0', '0', '0', 'disk=ssd']);
    const selector = await k(['patch', 'ds', 'agent', '--type=merge', '-p', '{"spec":{"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}}}}}']);
    assert.match(selector.stderr, /spec\.selector: Invalid value: .*field is immutable/);
  });

  test('RBAC: cluster-admin is bound to system:masters; roles and bindings are created, listed, and the roleRef is fixed', async () => {
    const crb = table((await c.kubectl(['get', 'clusterrolebinding', 'cluster-admin', '-o', 'wide'])).stdout);
    assert.deepEqual(crb.header, ['NAME', 'ROLE', 'AGE', 'USERS', 'GROUPS', 'SERVICEACCOUNTS']);
    assert.deepEqual([crb.row[0], crb.row[1], crb.row[3]], ['cluster-admin', 'ClusterRole/cluster-admin', 'system:masters']);
    const roles = table((await c.kubectl(['get', 'clusterroles'])).stdout);
    assert.deepEqual(roles.header, ['NAME', 'CREATED AT']);
    assert.equal(roles.row[0], 'admin'); // sorted by name, as on a real cluster: admin, cluster-admin, edit, ...

    const role = await k(['create', 'role', 'pod-reader', '--verb=get,list,watch', '--resource=pods', '--dry-run=client', '-o', 'yaml']);
    assert.equal(role.code, 0, role.stderr);
    assert.equal((await k(['apply', '-f', '-'], role.stdout)).code, 0);
    const binding = await k(['create', 'rolebinding', 'read-pods', '--role=pod-reader', '--user=jane', '--serviceaccount=sample:robot', '--dry-run=client', '-o', 'yaml']);
    assert.equal(binding.code, 0, binding.stderr);
    assert.equal((await k(['apply', '-f', '-'], binding.stdout)).code, 0);
    const rb = table((await k(['get', 'rolebindings', '-o', 'wide'])).stdout);
    assert.deepEqual([rb.row[0], rb.row[1], rb.row[3], rb.row[4]], ['read-pods', 'Role/pod-reader', 'jane', 'sample/robot']);
    const changed = await k(['apply', '-f', '-'], binding.stdout.replace('name: pod-reader', 'name: other'));
    assert.match(changed.stderr, /roleRef: Invalid value: .*cannot change roleRef/);
    const badRule = await k(['apply', '-f', '-'], 'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: empty\nrules:\n- apiGroups: [""]\n  resources: [pods]\n  verbs: []\n');
    assert.match(badRule.stderr, /rules\[0\]\.verbs: Required value: verbs must contain at least one value/);
  });

  test('auth can-i: a truthful yes for the admin token; --as answers from the bindings', async () => {
    assert.equal((await k(['auth', 'can-i', 'create', 'rolebindings'])).stdout.trim(), 'yes');
    assert.equal((await k(['auth', 'can-i', 'delete', 'jobs.batch'])).stdout.trim(), 'yes');
    assert.equal((await k(['auth', 'can-i', 'patch', 'statefulsets/scale'])).stdout.trim(), 'yes');
    const review = await c.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'delete', resource: 'clusterroles', group: 'rbac.authorization.k8s.io' } } },
    });
    assert.match((review.json() as { status: { reason: string } }).status.reason, /system:masters/);
    // jane holds Role pod-reader through RoleBinding read-pods (the RBAC test above).
    assert.equal((await k(['auth', 'can-i', 'get', 'pods', '--as=jane'])).stdout.trim(), 'yes');
    const janeDeletes = await k(['auth', 'can-i', 'delete', 'pods', '--as=jane']);
    assert.equal(janeDeletes.code, 1);
    assert.equal(janeDeletes.stdout.trim(), 'no');
    const janeLists = await k(['get', 'secrets', '--as=jane']);
    assert.match(janeLists.stderr, /secrets is forbidden: User "jane" cannot list resource "secrets" in API group "" in the namespace "sample"/);
  });
});
