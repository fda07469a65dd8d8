// The workload kinds users expect, with the real kubectl against a local cluster, its controllers and
// its process kubelet: a Job that runs a real command to completion and one that fails past its
// backoffLimit, a StatefulSet's ordered pods and scale down, a DaemonSet on the node, and the RBAC
// kinds next to the admin token's truthful `auth can-i`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { MeshworkEnv } from '../helpers/meshwork.js';
import { until } from '../helpers/until.js';

const CTX = 'cluster-1';
const NODE = 'cluster-1-node';

interface PodWatch {
  /** `TYPE NAME READY REVISION` per watch event. */
  events(): string[];
  stop(): void;
}

const FAILING_JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: fails
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: fails
        image: busybox
        command: ["sh", "-c", "echo failing; exit 3"]
`;

const STATEFULSET = `apiVersion: apps/v1
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
        command: ["sleep", "3600"]
`;

const daemonSet = (name: string, nodeSelector?: string): string => `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ${name}
spec:
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:${nodeSelector ? `\n      nodeSelector: {${nodeSelector}}` : ''}
      containers:
      - name: agent
        image: busybox
        command: ["sleep", "3600"]
`;

describe('Jobs, StatefulSets, DaemonSets and RBAC on a local cluster', { timeout: 300_000 }, () => {
  const env = new MeshworkEnv(50);
  const watches: PodWatch[] = [];
  const kubectl = (args: string[], input?: string) => env.kubectlOk(CTX, args, input);

  /**
   * `kubectl get pods -l SELECTOR --watch --output-watch-events`, resolved once the watch request is
   * answered (kubectl -v=6 logs it), so no event after that is missed.
   */
  async function watchPods(selector: string): Promise<PodWatch> {
    const template = '{.type} {.object.metadata.name} {.object.status.conditions[?(@.type=="Ready")].status} {.object.metadata.labels.controller-revision-hash}{"\\n"}';
    const child = spawn('kubectl', ['--context', CTX, 'get', 'pods', '-l', selector, '--watch', '--output-watch-events', '-o', `jsonpath=${template}`, '-v=6'], {
      env: { ...process.env, KUBECONFIG: env.kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let log = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const watch: PodWatch = {
      events: () => out.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).filter(Boolean),
      stop: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
    };
    watches.push(watch);
    await until(`kubectl's watch of pods ${selector} to be answered`, 15_000, async () => {
      if (child.exitCode !== null) throw new Error(`kubectl get --watch exited ${child.exitCode}: ${log}`);
      return /watch=true.*200 OK/.test(log) ? true : undefined;
    });
    return watch;
  }

  before(async () => {
    const up = await env.up(1);
    assert.equal(up.code, 0, `meshwork up -d failed: ${up.stderr}${up.stdout}`);
  });
  after(async () => {
    try {
      for (const w of watches) w.stop();
    } finally {
      await env.cleanup();
    }
  });

  test("a Job runs sh -c 'echo done' to completion: wait --for=condition=complete, logs job/, get jobs", async () => {
    // kubectl create job sends the Job as a protobuf body.
    assert.match(await kubectl(['create', 'job', 'hello', '--image=busybox', '--', 'sh', '-c', 'echo done']), /job.batch\/hello created/);
    assert.match(await kubectl(['wait', '--for=condition=complete', 'job/hello', '--timeout=60s']), /job.batch\/hello condition met/);
    assert.equal(await kubectl(['logs', 'job/hello']), 'done\n');
    const table = await kubectl(['get', 'jobs', 'hello']);
    assert.match(table, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\nhello\s+Complete\s+1\/1\s+\d+s\s+\d+s\n$/);
    const status = JSON.parse(await kubectl(['get', 'job', 'hello', '-o', 'jsonpath={.status}'])) as Record<string, unknown>;
    assert.equal(status.succeeded, 1);
    assert.deepEqual(status.uncountedTerminatedPods, {});
    assert.equal(typeof status.completionTime, 'string');
    const pod = await kubectl(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=hello', '-o', 'jsonpath={.items[*].status.phase} {.items[*].metadata.finalizers} {.items[*].status.containerStatuses[0].state.terminated.exitCode}']);
    assert.equal(pod, 'Succeeded  0', 'the pod Succeeded with exit code 0 and its tracking finalizer removed');
    const described = await kubectl(['describe', 'job', 'hello']);
    assert.match(described, /Pods Statuses:\s+0 Active \(0 Ready\) \/ 1 Succeeded \/ 0 Failed/);
    assert.match(described, /Normal\s+SuccessfulCreate\s+\S+\s+job-controller\s+Created pod: hello-\w{5}\n/);
    assert.match(described, /Normal\s+Completed\s+\S+\s+job-controller\s+Job completed\n/);
    await kubectl(['delete', 'job', 'hello']);
    await until('the Job\'s pod to be collected', 15_000, async () => ((await kubectl(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=hello', '-o', 'name'])) === '' ? true : undefined));
  });

  test('a failing Job retries once after the back-off, then fails with BackoffLimitExceeded', async () => {
    await kubectl(['apply', '-f', '-'], FAILING_JOB);
    assert.match(await kubectl(['wait', '--for=condition=failed', 'job/fails', '--timeout=90s']), /condition met/);
    const conditions = await kubectl(['get', 'job', 'fails', '-o', 'jsonpath={range .status.conditions[*]}{.type}={.reason}{"\\n"}{end}']);
    assert.equal(conditions, 'FailureTarget=BackoffLimitExceeded\nFailed=BackoffLimitExceeded\n');
    assert.equal(await kubectl(['get', 'job', 'fails', '-o', 'jsonpath={.status.failed}']), '2', 'backoffLimit 1: the second failure fails the Job');
    const pods = (await kubectl(['get', 'pods', '-l', 'job-name=fails', '-o', 'jsonpath={range .items[*]}{.status.phase} {.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.finishedAt}{"\\n"}{end}'])).trim().split('\n');
    assert.equal(pods.length, 2);
    for (const p of pods) assert.match(p, /^Failed 3 \S+Z$/);
    const [first, second] = pods.map((p) => Date.parse(p.split(' ')[2]!)).sort((a, b) => a - b);
    assert.ok(second! - first! >= 9_000, `the replacement waited out the 10 s back-off (${second! - first!} ms apart)`);
    assert.match(await kubectl(['get', 'jobs', 'fails']), /\nfails\s+Failed\s+0\/1\s/);
    assert.match(await kubectl(['describe', 'job', 'fails']), /Warning\s+BackoffLimitExceeded\s+\S+\s+job-controller\s+Job has reached the specified backoff limit\n/);
    assert.match(await kubectl(['logs', 'job/fails']), /^failing\n$/);
  });

  test('a StatefulSet creates web-0, web-1, web-2 in order, each once the one before is Ready; scale 3 -> 1 removes web-2, then web-1', async () => {
    const watch = await watchPods('app=web');
    await kubectl(['apply', '-f', '-'], STATEFULSET);
    const rollout = await kubectl(['rollout', 'status', 'sts/web', '--timeout=60s']);
    assert.match(rollout, /partitioned roll out complete: 3 new pods have been updated/);
    const events = watch.events();
    const at = (pattern: RegExp) => events.findIndex((e) => pattern.test(e));
    for (const [prev, next] of [['web-0', 'web-1'], ['web-1', 'web-2']]) {
      const ready = at(new RegExp(`^MODIFIED ${prev} True`));
      const added = at(new RegExp(`^ADDED ${next} `));
      assert.ok(ready >= 0 && added > ready, `${next} is created only after ${prev} is Ready: ${events.join(' | ')}`);
    }
    assert.match(await kubectl(['get', 'sts', 'web']), /^NAME\s+READY\s+AGE\nweb\s+3\/3\s+\d+s\n$/);
    const labels = JSON.parse(await kubectl(['get', 'pod', 'web-1', '-o', 'jsonpath={.metadata.labels}'])) as Record<string, string>;
    const revision = await kubectl(['get', 'sts', 'web', '-o', 'jsonpath={.status.updateRevision}']);
    assert.deepEqual(labels, { app: 'web', 'statefulset.kubernetes.io/pod-name': 'web-1', 'apps.kubernetes.io/pod-index': '1', 'controller-revision-hash': revision });
    assert.equal(await kubectl(['get', 'pod', 'web-1', '-o', 'jsonpath={.spec.hostname}.{.spec.subdomain}']), 'web-1.web');
    assert.match(await kubectl(['get', 'controllerrevisions']), new RegExp(`\\n${revision}\\s+statefulset.apps/web\\s+1\\s`));

    await kubectl(['scale', 'sts', 'web', '--replicas=1']);
    await until('web to be scaled to 1', 30_000, async () => ((await kubectl(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}'])) === 'web-0' ? true : undefined));
    const deleted = watch.events().filter((e) => e.startsWith('DELETED')).map((e) => e.split(' ')[1]);
    assert.deepEqual(deleted, ['web-2', 'web-1'], 'the highest ordinal first');
    const s = JSON.parse(await kubectl(['get', 'sts', 'web', '-o', 'jsonpath={.status}'])) as Record<string, unknown>;
    assert.deepEqual({ replicas: s.replicas, readyReplicas: s.readyReplicas, currentReplicas: s.currentReplicas, updatedReplicas: s.updatedReplicas }, { replicas: 1, readyReplicas: 1, currentReplicas: 1, updatedReplicas: 1 });
    const described = await kubectl(['describe', 'sts', 'web']);
    assert.match(described, /Pods Status:\s+1 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed/);
    assert.match(described, /Normal\s+SuccessfulCreate\s+\S+\s+statefulset-controller\s+create Pod web-2 in StatefulSet web successful\n/);
    assert.match(described, /Normal\s+SuccessfulDelete\s+\S+\s+statefulset-controller\s+delete Pod web-2 in StatefulSet web successful\n/);
    watch.stop();

    await kubectl(['delete', 'sts', 'web']);
    await until('the StatefulSet\'s pod and revisions to be collected', 15_000, async () =>
      (await kubectl(['get', 'pods,controllerrevisions', '-l', 'app=web', '-o', 'name'])) === '' ? true : undefined,
    );
  });

  test('a StatefulSet template change rolls from the highest ordinal down to web-0', async () => {
    await kubectl(['apply', '-f', '-'], STATEFULSET.replace('name: web\n', 'name: db\n').replace(/app: web/g, 'app: db'));
    await kubectl(['rollout', 'status', 'sts/db', '--timeout=60s']);
    const before = await kubectl(['get', 'sts', 'db', '-o', 'jsonpath={.status.currentRevision}']);
    const watch = await watchPods('app=db');
    await kubectl(['set', 'env', 'sts/db', 'GREETING=hi']);
    assert.match(await kubectl(['rollout', 'status', 'sts/db', '--timeout=60s']), /partitioned roll out complete: 3 new pods have been updated/);
    const deleted = watch.events().filter((e) => e.startsWith('DELETED')).map((e) => e.split(' ')[1]);
    assert.deepEqual(deleted, ['db-2', 'db-1', 'db-0']);
    const status = await kubectl(['get', 'sts', 'db', '-o', 'jsonpath={.status.currentRevision} {.status.updateRevision}']);
    const [current, update] = status.split(' ');
    assert.notEqual(update, before);
    assert.equal(current, update, 'the update revision became current');
    assert.equal(await kubectl(['get', 'pods', '-l', 'app=db', '-o', 'jsonpath={.items[*].metadata.labels.controller-revision-hash}']), `${update} ${update} ${update}`);
    assert.match(await kubectl(['rollout', 'history', 'sts/db']), /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    watch.stop();
    await kubectl(['delete', 'sts', 'db']);
  });

  test('a DaemonSet runs one pod on cluster-1-node; with a nodeSelector the node lacks it runs none until the node is labelled', async () => {
    await kubectl(['apply', '-f', '-'], daemonSet('agent') + '---\n' + daemonSet('gpu', 'accelerator: gpu'));
    assert.match(await kubectl(['rollout', 'status', 'ds/agent', '--timeout=60s']), /daemon set "agent" successfully rolled out/);
    const table = await kubectl(['get', 'ds']);
    assert.match(table, /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE\n/);
    assert.match(table, /\nagent\s+1\s+1\s+1\s+1\s+1\s+<none>\s+\d+s\n/);
    assert.match(table, /\ngpu\s+0\s+0\s+0\s+0\s+0\s+accelerator=gpu\s+\d+s\n/);
    assert.equal(await kubectl(['get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].spec.nodeName}']), NODE);
    assert.equal(await kubectl(['get', 'pods', '-l', 'app=gpu', '-o', 'name']), '');

    await kubectl(['label', 'node', NODE, 'accelerator=gpu']);
    await until('the gpu DaemonSet to run its pod', 30_000, async () => ((await kubectl(['get', 'ds', 'gpu', '-o', 'jsonpath={.status.numberAvailable}'])) === '1' ? true : undefined));
    await kubectl(['label', 'node', NODE, 'accelerator-']);
    await until('the gpu pod to go with the label', 30_000, async () => ((await kubectl(['get', 'pods', '-l', 'app=gpu', '-o', 'name'])) === '' ? true : undefined));

    const before = await kubectl(['get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[0].metadata.name}']);
    await kubectl(['set', 'env', 'ds/agent', 'MODE=v2']);
    assert.match(await kubectl(['rollout', 'status', 'ds/agent', '--timeout=60s']), /successfully rolled out/);
    const after = await kubectl(['get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].metadata.name}']);
    assert.notEqual(after, before, 'the template change replaced the pod');
    assert.match(await kubectl(['describe', 'ds', 'agent']), /Number of Nodes Scheduled with Up-to-date Pods: 1/);
    await kubectl(['delete', 'ds', 'agent', 'gpu']);
    await until('the daemon pods to be collected', 15_000, async () => ((await kubectl(['get', 'pods', '-l', 'app in (agent,gpu)', '-o', 'name'])) === '' ? true : undefined));
  });

  test('RBAC: cluster-admin bound to system:masters; a Role and RoleBinding grant what they say; auth can-i stays yes for the admin', async () => {
    assert.match(await kubectl(['get', 'clusterrolebinding', 'cluster-admin', '-o', 'wide']), /\ncluster-admin\s+ClusterRole\/cluster-admin\s+\S+\s+system:masters\s*\n/);
    assert.match(await kubectl(['get', 'clusterroles']), /^NAME\s+CREATED AT\n(.*\n)*cluster-admin\s/);
    await kubectl(['create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods']);
    await kubectl(['create', 'rolebinding', 'read-pods', '--role=pod-reader', '--user=jane']);
    assert.match(await kubectl(['get', 'rolebindings', '-o', 'wide']), /\nread-pods\s+Role\/pod-reader\s+\S+\s+jane\s*\n/);
    assert.equal((await kubectl(['auth', 'can-i', 'delete', 'roles'])).trim(), 'yes');
    assert.equal((await kubectl(['auth', 'can-i', 'create', 'jobs.batch'])).trim(), 'yes');
    assert.equal((await kubectl(['auth', 'can-i', 'list', 'pods', '--as=jane'])).trim(), 'yes', 'jane may list pods through read-pods');
    const janeDeletes = await env.kubectl(CTX, ['auth', 'can-i', 'delete', 'pods', '--as=jane']);
    assert.equal(janeDeletes.code, 1);
    assert.equal(janeDeletes.stdout.trim(), 'no');
  });
});
