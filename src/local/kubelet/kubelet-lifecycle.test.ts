import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { StatusError } from '../../k8s/status.js';
import { KUBELET_BACKOFF } from './backoff.js';
import { ManualClock } from '../../clock.js';
import { POD_TYPE } from './events.js';
import { createPod, curl, eventsOf, getPod, harness, isReady, pidOf, processAlive, waitFor, waitForPod } from './kubelet-testing.js';

const HELLO = { name: 'helloworld', image: 'docker.io/istio/examples-helloworld-v1', ports: [{ containerPort: 5000 }] };

function collect(stream: Readable): { text: () => string; ended: Promise<void> } {
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  const ended = new Promise<void>((resolve) => stream.on('end', resolve));
  return { text: () => text, ended };
}

test('an image that is neither built in nor a local command waits with ErrImagePull, then ImagePullBackOff', async (t) => {
  const h = harness(202);
  t.after(() => h.close());
  createPod(h.store, 'nginx', [{ name: 'web', image: 'nginx:1.25' }]);
  const p = await waitForPod(h.store, 'nginx', 'ErrImagePull', (p) => {
    const s = p.status?.containerStatuses?.[0]?.state;
    return s !== undefined && 'waiting' in s && s.waiting.reason === 'ErrImagePull';
  });
  assert.equal(p.status?.phase, 'Pending');
  const s = p.status?.containerStatuses?.[0]?.state;
  assert.match(s && 'waiting' in s ? (s.waiting.message ?? '') : '', /"nginx:1\.25" is neither a built-in app.*examples-helloworld-v1/);
  await waitForPod(h.store, 'nginx', 'ImagePullBackOff', (p) => {
    const s = p.status?.containerStatuses?.[0]?.state;
    return s !== undefined && 'waiting' in s && s.waiting.reason === 'ImagePullBackOff';
  });
  const events = eventsOf(h.store, 'nginx');
  assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'Failed' && e.message.startsWith('Failed to pull image "nginx:1.25"')));
  assert.ok(events.some((e) => e.reason === 'BackOff' && e.message === 'Back-off pulling image "nginx:1.25"'));
  const ac = new AbortController();
  await assert.rejects(
    h.kubelet.exec({ namespace: 'sample', pod: 'nginx', command: ['true'], tty: false, stdout: process.stdout, stderr: process.stderr, signal: ac.signal }),
    (e: unknown) => e instanceof StatusError && e.code === 400 && /container "web" in pod "nginx" is waiting to start: (ErrImagePull|ImagePullBackOff)/.test(e.message),
  );
});

test('a crashing container restarts with back-off: CrashLoopBackOff, restartCount, lastState, previous logs', async (t) => {
  const h = harness(203, { backoff: { initialMs: 50, maxMs: 200 } });
  t.after(() => h.close());
  createPod(h.store, 'crash', [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'echo "run $(date +%N)"; echo oops >&2; exit 2'] }]);
  const p = await waitForPod(h.store, 'crash', 'three restarts (the first at once, two after a back-off)', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 3);
  const cs = p.status?.containerStatuses?.[0];
  assert.equal(p.status?.phase, 'Running', 'restartPolicy Always keeps the pod Running');
  assert.equal(cs?.lastState.terminated?.exitCode, 2);
  assert.equal(cs?.lastState.terminated?.reason, 'Error');
  await waitForPod(h.store, 'crash', 'CrashLoopBackOff', (p) => {
    const s = p.status?.containerStatuses?.[0]?.state;
    return s !== undefined && 'waiting' in s && s.waiting.reason === 'CrashLoopBackOff' && /back-off \d+ms restarting failed container=app pod=crash_sample/.test(s.waiting.message ?? '');
  });
  assert.ok(eventsOf(h.store, 'crash').some((e) => e.type === 'Warning' && e.reason === 'BackOff' && e.count >= 2), 'BackOff events are folded with a count');

  const ac = new AbortController();
  const current = collect(h.kubelet.logs({ namespace: 'sample', pod: 'crash', follow: false, previous: false, timestamps: false, signal: ac.signal }));
  await current.ended;
  assert.match(current.text(), /^run \d+\noops\n$/);
  const previous = collect(h.kubelet.logs({ namespace: 'sample', pod: 'crash', follow: false, previous: true, timestamps: true, signal: ac.signal }));
  await previous.ended;
  assert.match(previous.text(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z run \d+\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z oops\n$/);
});

test('crash-loop timing follows the injected clock: the first crash restarts at once, then 10 s, 20 s, as the real kubelet', async (t) => {
  const clock = new ManualClock(Date.UTC(2024, 0, 1));
  const h = harness(209, { clock, backoff: KUBELET_BACKOFF });
  t.after(() => h.close());
  createPod(h.store, 'crash', [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'exit 1'] }]);
  const waitingWith = (restarts: number, backoff: string) =>
    waitForPod(h.store, 'crash', `restart ${restarts} waiting ${backoff}`, (p) => {
      const cs = p.status?.containerStatuses?.[0];
      return cs?.restartCount === restarts && 'waiting' in cs.state && (cs.state.waiting.message ?? '').startsWith(`back-off ${backoff} `);
    });
  await waitingWith(2, '10s');
  clock.advance(9_999);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(getPod(h.store, 'crash')?.status?.containerStatuses?.[0]?.restartCount, 2, 'no restart before the back-off ends');
  clock.advance(1);
  await waitingWith(3, '20s');
  clock.advance(20_000);
  await waitingWith(4, '40s');
});

test('restartPolicy Never: a completed pod Succeeds and its container is not restarted; OnFailure restarts only failures', async (t) => {
  const h = harness(204, { backoff: { initialMs: 50, maxMs: 200 } });
  t.after(() => h.close());
  createPod(h.store, 'once', [{ name: 'job', image: 'busybox', command: ['sh', '-c', 'echo done'] }], { restartPolicy: 'Never' });
  createPod(h.store, 'fail', [{ name: 'job', image: 'busybox', command: ['sh', '-c', 'exit 4'] }], { restartPolicy: 'Never' });
  createPod(h.store, 'retry', [{ name: 'job', image: 'busybox', command: ['sh', '-c', 'exit 5'] }], { restartPolicy: 'OnFailure' });
  const once = await waitForPod(h.store, 'once', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
  const s = once.status?.containerStatuses?.[0];
  assert.ok(s && 'terminated' in s.state && s.state.terminated.exitCode === 0 && s.state.terminated.reason === 'Completed');
  assert.equal(s?.restartCount, 0);
  assert.equal(once.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  await waitForPod(h.store, 'fail', 'Failed', (p) => p.status?.phase === 'Failed');
  await waitForPod(h.store, 'retry', 'restarted', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && p.status?.phase === 'Running');
});

test('readiness probes decide Ready; a failing probe keeps the pod unready with Unhealthy events', async (t) => {
  const h = harness(205);
  t.after(() => h.close());
  createPod(h.store, 'good', [{ ...HELLO, readinessProbe: { httpGet: { path: '/health', port: 5000 }, periodSeconds: 1 } }]);
  createPod(h.store, 'bad', [{ ...HELLO, readinessProbe: { httpGet: { path: '/not-here', port: 5000 }, periodSeconds: 1 } }]);
  createPod(h.store, 'tcp', [{ ...HELLO, readinessProbe: { tcpSocket: { port: 5000 } } }]);
  createPod(h.store, 'execprobe', [{ name: 's', image: 'busybox', command: ['sleep', 'infinity'], readinessProbe: { exec: { command: ['sh', '-c', 'test "$HOSTNAME" = execprobe'] } } }]);
  await waitForPod(h.store, 'good', 'Ready', isReady);
  await waitForPod(h.store, 'tcp', 'Ready', isReady);
  await waitForPod(h.store, 'execprobe', 'Ready', isReady);
  await waitFor('Unhealthy event', () => eventsOf(h.store, 'bad').find((e) => e.reason === 'Unhealthy'));
  const bad = getPod(h.store, 'bad');
  assert.equal(bad?.status?.phase, 'Running');
  assert.deepEqual(bad?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  assert.equal(bad?.status?.containerStatuses?.[0]?.ready, false);
  assert.equal(bad?.status?.containerStatuses?.[0]?.started, true);
  const unhealthy = eventsOf(h.store, 'bad').find((e) => e.reason === 'Unhealthy');
  assert.equal(unhealthy?.type, 'Warning');
  assert.equal(unhealthy?.message, 'Readiness probe failed: HTTP probe failed with statuscode: 404');
});

test('deleting a pod stops its processes, frees its IP, removes the object; logs follow until then', async (t) => {
  const h = harness(206);
  t.after(() => h.close());
  createPod(h.store, 'doomed', [HELLO], { terminationGracePeriodSeconds: 30 });
  createPod(h.store, 'sleeper', [{ name: 'sleep', image: 'curlimages/curl', command: ['/bin/sleep', 'infinity'] }]);
  const p = await waitForPod(h.store, 'doomed', 'ready', isReady);
  const s = await waitForPod(h.store, 'sleeper', 'ready', isReady);
  const ip = p.status?.podIP ?? '';
  const pid = pidOf(p, 'helloworld');
  assert.ok(processAlive(pid));

  const ac = new AbortController();
  const tail = collect(h.kubelet.logs({ namespace: 'sample', pod: 'doomed', follow: true, previous: false, timestamps: false, signal: ac.signal }));
  await waitFor('startup line', () => tail.text().includes(`serving on http://${ip}:5000`));
  assert.equal((await curl(`http://${ip}:5000/hello`)).stdout, 'Hello version: v1, instance: doomed\n');
  await waitFor('access log line followed', () => tail.text().includes('"GET /hello" 200'));
  const aborted = new AbortController();
  const stopped = collect(h.kubelet.logs({ namespace: 'sample', pod: 'doomed', follow: true, previous: false, timestamps: true, signal: aborted.signal }));
  aborted.abort();
  await stopped.ended; // an aborted follow ends although the container still runs
  assert.match(stopped.text(), /^\d{4}-\d\d-\d\dT[\d:.]+Z helloworld v1 serving on/);
  const tailed = collect(h.kubelet.logs({ namespace: 'sample', pod: 'doomed', follow: false, previous: false, timestamps: false, tailLines: 1, signal: ac.signal }));
  await tailed.ended;
  assert.match(tailed.text(), /^[^\n]*"GET \/hello" 200\n$/);

  // A graceful delete as the API server records it: deletionTimestamp set, the kubelet finishes it.
  const current = h.store.get(POD_TYPE, 'sample', 'doomed');
  assert.ok(current);
  h.store.update(POD_TYPE, { ...current, metadata: { ...current.metadata, deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: 30 } });
  await tail.ended; // follow ends with the container
  assert.match(tail.text(), /SIGTERM/);
  await waitFor('pod object removed', () => getPod(h.store, 'doomed') === undefined);
  assert.equal(processAlive(pid), false);
  assert.notEqual((await curl(`http://${ip}:5000/hello`)).code, 0, 'nothing answers on the old IP');
  assert.ok(eventsOf(h.store, 'doomed').some((e) => e.reason === 'Killing' && e.message === 'Stopping container helloworld'));

  // A plain delete (DELETED event) stops the processes too.
  const sleepPid = pidOf(s, 'sleep');
  h.store.delete(POD_TYPE, 'sample', 'sleeper');
  await waitFor('sleep process gone', () => !processAlive(sleepPid));
  // The logs go once the container's monitor has recorded the exit, a moment after the process.
  await waitFor('logs of a deleted pod removed', () => !existsSync(`${h.stateDir}/logs/sample_sleeper_sleep.log`));

  // The freed IP can be held by a new pod (a pod that asks for it keeps it only when it is free).
  h.store.create(POD_TYPE, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'again', namespace: 'sample' }, spec: { containers: [HELLO] }, status: { podIP: ip } });
  const again = await waitForPod(h.store, 'again', 'ready', isReady);
  assert.equal(again.status?.podIP, ip);
  assert.equal((await curl(`http://${ip}:5000/hello`)).stdout, 'Hello version: v1, instance: again\n');
});

test('a pod with an istio-proxy container: apps bind the app IP, the sidecar gets the pod IP', async (t) => {
  const h = harness(207);
  t.after(() => h.close());
  createPod(h.store, 'meshed', [HELLO, { name: 'istio-proxy', image: 'busybox', command: ['sleep', 'infinity'], env: [{ name: 'INSTANCE_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] }]);
  const p = await waitForPod(h.store, 'meshed', 'ready', isReady);
  const podIp = p.status?.podIP ?? '';
  const appIp = podIp.replace(/^127\.207\.(\d+)\./, (_m, x: string) => `127.207.${Number(x) + 128}.`);
  assert.equal((await curl(`http://${appIp}:5000/hello`)).stdout, 'Hello version: v1, instance: meshed\n');
  assert.notEqual((await curl(`http://${podIp}:5000/hello`)).code, 0, 'nothing of the app on the pod IP: that is the sidecar\'s');
  let out = '';
  const res = await h.kubelet.exec({
    namespace: 'sample', pod: 'meshed', container: 'istio-proxy', command: ['sh', '-c', 'echo $MESHWORK_BIND_IP $INSTANCE_IP'], tty: false,
    stdout: new (await import('node:stream')).Writable({ write(c: Buffer, _e, cb) { out += c.toString(); cb(); } }),
    stderr: process.stderr, signal: new AbortController().signal,
  });
  assert.equal(res.exitCode, 0);
  assert.equal(out, `${podIp} ${podIp}\n`);
});

test('init containers run to completion, in order, before the app containers', async (t) => {
  const h = harness(204);
  t.after(() => h.close());
  createPod(h.store, 'inits', [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'cat steps; exec sleep infinity'] }], {
    initContainers: [
      { name: 'first', image: 'busybox', command: ['sh', '-c', 'echo first >> steps'] },
      { name: 'second', image: 'busybox', command: ['sh', '-c', 'echo second >> steps'] },
    ],
  });
  const p = await waitForPod(h.store, 'inits', 'ready', isReady);
  assert.deepEqual(p.status?.initContainerStatuses?.map((s) => ('terminated' in s.state ? `${s.name}:${s.state.terminated.reason}` : s.name)), ['first:Completed', 'second:Completed']);
  assert.equal(p.status?.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
  const readAppLog = async (): Promise<string> => {
    const log = collect(h.kubelet.logs({ namespace: 'sample', pod: 'inits', container: 'app', follow: false, previous: false, timestamps: false, signal: new AbortController().signal }));
    await log.ended;
    return log.text();
  };
  let text = '';
  for (let i = 0; i < 100 && text === ''; i++) {
    text = await readAppLog();
    if (text === '') await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(text, 'first\nsecond\n', 'both init containers ran, in order, in the shared pod directory');

  createPod(h.store, 'badinit', [{ name: 'app', image: 'busybox', command: ['sleep', 'infinity'] }], {
    restartPolicy: 'Never',
    initContainers: [{ name: 'setup', image: 'busybox', command: ['sh', '-c', 'exit 7'] }],
  });
  const bad = await waitForPod(h.store, 'badinit', 'Failed', (p) => p.status?.phase === 'Failed');
  assert.equal(bad.status?.conditions?.find((c) => c.type === 'Initialized')?.status, 'False');
  const app = bad.status?.containerStatuses?.[0];
  assert.ok(app && 'waiting' in app.state, 'the app container never started');
});
