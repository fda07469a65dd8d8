// A kubelet in a process of its own, over a SQLite store file: for tests that kill a kubelet the hard
// way, and for poking at the kubelet by hand.
//   node [--import tsx] run-kubelet.(ts|js) --store=FILE --state-dir=DIR --subnet=N [--node=NAME] [--wait-ready=pod,pod]
// Prints one JSON line {"ready":true,"pods":{name:{ip,pid}}} once the kubelet (and the named pods) are ready.
import { isMainModule, parseAppArgs } from '../apps/app-process.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { POD_TYPE } from './events.js';
import { startKubelet } from './kubelet.js';
import { asPod } from './pod-types.js';

async function main(): Promise<void> {
  const args = parseAppArgs(process.argv.slice(2));
  const need = (k: string): string => {
    const v = args.get(k);
    if (!v) throw new Error(`--${k} is required`);
    return v;
  };
  const store = openSqliteStore({ path: need('store') });
  const subnetOctet = Number(need('subnet'));
  const nodeName = args.get('node') ?? `cluster-${subnetOctet}-node`;
  const kubelet = startKubelet({ store, clusterName: nodeName.replace(/-node$/, ''), nodeName, subnetOctet, stateDir: need('state-dir') });
  process.on('SIGTERM', () => {
    void kubelet.stop().then(() => {
      store.close();
      process.exit(0);
    });
  });
  await kubelet.ready;
  const wanted = (args.get('wait-ready') ?? '').split(',').filter(Boolean);
  const pods: Record<string, { ip: string; pid: number }> = {};
  for (;;) {
    for (const item of store.list(POD_TYPE).items) {
      const pod = asPod(item);
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      const id = pod.status?.containerStatuses?.[0]?.containerID;
      if (ready && id && pod.status?.podIP) pods[pod.metadata.name] = { ip: pod.status.podIP, pid: Number(id.replace('meshwork://', '')) };
    }
    if (wanted.every((n) => pods[n])) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  process.stdout.write(JSON.stringify({ ready: true, pods }) + '\n');
}

if (isMainModule(import.meta.url)) {
  main().catch((err: Error) => {
    console.error(`run-kubelet: ${err.stack ?? err.message}`);
    process.exit(1);
  });
}
