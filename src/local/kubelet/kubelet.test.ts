import test from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { StatusError } from '../../k8s/status.js';
import { createPod, curl, eventsOf, getPod, harness, isReady, pidOf, processAlive, waitForPod } from './kubelet-testing.js';

const HELLO_V1 = { name: 'helloworld', image: 'docker.io/istio/examples-helloworld-v1', ports: [{ containerPort: 5000 }] };
const HELLO_V2 = { name: 'helloworld', image: 'istio/examples-helloworld-v2:1.0', ports: [{ containerPort: 5000 }] };

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

test('helloworld pods get their own IPs, answer curl on port 5000, and serve exec from a sleep pod', async (t) => {
  const h = harness(201);
  t.after(() => h.close());
  createPod(h.store, 'hello-a', [HELLO_V1]);
  createPod(h.store, 'hello-b', [HELLO_V2]);
  createPod(h.store, 'sleep', [{ name: 'sleep', image: 'curlimages/curl', command: ['/bin/sleep', 'infinity'] }]);
  const a = await waitForPod(h.store, 'hello-a', 'hello-a ready', isReady);
  const b = await waitForPod(h.store, 'hello-b', 'hello-b ready', isReady);
  const s = await waitForPod(h.store, 'sleep', 'sleep ready', isReady);

  // Binding, addressing and status as the real kubelet writes them.
  assert.equal(a.spec.nodeName, 'test-201-node');
  assert.match(a.status?.podIP ?? '', /^127\.201\.0\.\d+$/);
  assert.notEqual(a.status?.podIP, b.status?.podIP);
  assert.notEqual(a.status?.podIP, s.status?.podIP);
  assert.equal(a.status?.hostIP, '127.201.0.1');
  assert.deepEqual(a.status?.podIPs, [{ ip: a.status?.podIP }]);
  assert.equal(a.status?.phase, 'Running');
  assert.deepEqual(a.status?.conditions?.map((c) => `${c.type}=${c.status}`), ['Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True']);
  const cs = a.status?.containerStatuses?.[0];
  assert.equal(cs?.name, 'helloworld');
  assert.equal(cs?.ready, true);
  assert.equal(cs?.started, true);
  assert.equal(cs?.restartCount, 0);
  assert.equal(cs?.image, HELLO_V1.image);
  assert.ok(cs && 'running' in cs.state && cs.state.running.startedAt);
  assert.match(cs?.containerID ?? '', /^meshwork:\/\/\d+$/);
  assert.ok(a.status?.startTime);

  const r1 = await curl(`http://${a.status?.podIP}:5000/hello`);
  assert.equal(r1.stdout, 'Hello version: v1, instance: hello-a\n', r1.stderr);
  const r2 = await curl(`http://${b.status?.podIP}:5000/hello`);
  assert.equal(r2.stdout, 'Hello version: v2, instance: hello-b\n', r2.stderr);
  assert.equal((await curl(`http://${a.status?.podIP}:5000/health`, ['-o', '/dev/null', '-w', '%{http_code}'])).stdout, '200');
  assert.equal((await curl(`http://${a.status?.podIP}:5000/nope`, ['-o', '/dev/null', '-w', '%{http_code}'])).stdout, '404');

  const reasons = eventsOf(h.store, 'hello-a').map((e) => e.reason);
  for (const r of ['Scheduled', 'Pulled', 'Created', 'Started']) assert.ok(reasons.includes(r), `event ${r} in ${reasons.join(',')}`);

  // The sleep pod runs the real /bin/sleep.
  const sleepPid = pidOf(s, 'sleep');
  assert.match(await import('node:fs').then((fs) => fs.readFileSync(`/proc/${sleepPid}/cmdline`, 'utf8')), /^\/bin\/sleep\0infinity\0$/);

  // exec: curl from inside the sleep pod, with the pod's environment.
  const out = sink();
  const err = sink();
  const ac = new AbortController();
  const res = await h.kubelet.exec({ namespace: 'sample', pod: 'sleep', command: ['curl', '-sS', `http://${a.status?.podIP}:5000/hello`], tty: false, stdout: out.stream, stderr: err.stream, signal: ac.signal });
  assert.equal(res.exitCode, 0, err.text());
  assert.equal(out.text(), 'Hello version: v1, instance: hello-a\n');

  const env = sink();
  const r3 = await h.kubelet.exec({ namespace: 'sample', pod: 'sleep', command: ['sh', '-c', 'echo "$HOSTNAME $POD_NAMESPACE $POD_IP $MESHWORK_BIND_IP"; pwd; exit 3'], tty: false, stdout: env.stream, stderr: sink().stream, signal: ac.signal });
  assert.equal(r3.exitCode, 3);
  const [envLine, cwd] = env.text().trim().split('\n');
  assert.equal(envLine, `sleep sample ${s.status?.podIP} ${s.status?.podIP}`);
  assert.match(cwd, new RegExp(`/pods/sample_sleep_${s.metadata.uid}$`));

  // stdin reaches the command.
  const stdin = new PassThrough();
  stdin.end('piped input\n');
  const cat = sink();
  const r4 = await h.kubelet.exec({ namespace: 'sample', pod: 'sleep', command: ['cat'], tty: false, stdin, stdout: cat.stream, stderr: sink().stream, signal: ac.signal });
  assert.equal(r4.exitCode, 0);
  assert.equal(cat.text(), 'piped input\n');

  const missing = sink();
  const r5 = await h.kubelet.exec({ namespace: 'sample', pod: 'sleep', command: ['no-such-tool', '-x'], tty: false, stdout: sink().stream, stderr: missing.stream, signal: ac.signal });
  assert.equal(r5.exitCode, 127);
  assert.match(missing.text(), /exec: "no-such-tool": executable file not found in \$PATH/);

  // Abort kills the command.
  const abort = new AbortController();
  const long = h.kubelet.exec({ namespace: 'sample', pod: 'sleep', command: ['sleep', '30'], tty: false, stdout: sink().stream, stderr: sink().stream, signal: abort.signal });
  setTimeout(() => abort.abort(), 100);
  assert.equal((await long).exitCode, 137);

  await assert.rejects(
    h.kubelet.exec({ namespace: 'sample', pod: 'nope', command: ['true'], tty: false, stdout: sink().stream, stderr: sink().stream, signal: ac.signal }),
    (e: unknown) => e instanceof StatusError && e.code === 404,
  );
  await assert.rejects(
    h.kubelet.exec({ namespace: 'sample', pod: 'sleep', container: 'other', command: ['true'], tty: false, stdout: sink().stream, stderr: sink().stream, signal: ac.signal }),
    (e: unknown) => e instanceof StatusError && e.code === 404,
  );
  assert.ok(processAlive(sleepPid));
  assert.ok(getPod(h.store, 'sleep'));
});
