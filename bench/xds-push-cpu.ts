// Control-plane CPU of a push, without streams: how long (wall and CPU of this process) from the start
// of a weight change until the last proxy whose config it changes has its snapshot set, and until every
// proxy was handled. The same mesh as bench:xds (bench/lib/xds-mesh.ts); N nodes registered with the real
// ProxyPusher, no ADS connections, so neither a load generator nor the sockets take CPU from it.
// Run: npm run -s build && node dist/bench/xds-push-cpu.js
// Knobs: N (2000), S (1000), NAMESPACES (50), SIDECARS (1), CHANGES (5).
import { buildMesh, hostnameOf, sidecarNode, type MeshSpec } from './lib/xds-mesh.js';
import { StaticControlPlane } from './lib/xds-control-plane.js';

const N = Number(process.env.N ?? 2000);
const NAMESPACES = Number(process.env.NAMESPACES ?? 50);
const spec: MeshSpec = { services: Number(process.env.S ?? 1000), endpointsPerService: 2, weightV1: 80, extraEndpoints: 0, namespaces: NAMESPACES, sidecars: process.env.SIDECARS !== '0' };
const CHANGES = Number(process.env.CHANGES ?? 5);

const cp = new StaticControlPlane(buildMesh(spec));
for (let i = 0; i < N; i++) {
  const n = sidecarNode(i, NAMESPACES);
  cp.pusher.onStreamOpen({
    id: n.id,
    cluster: `sleep.${n.namespace}`,
    metadata: { fields: { CLUSTER_ID: { string_value: n.cluster }, NAMESPACE: { string_value: n.namespace }, LABELS: { struct_value: { fields: { app: { string_value: 'sleep' } } } } } },
  });
}
// Which nodes the change concerns: those that hold a cluster of the changed service (found before timing).
const changedCluster = `outbound|5000|v1|${hostnameOf(0, NAMESPACES)}`;
const affected = new Set<string>();
for (let i = 0; i < N; i++) {
  const id = sidecarNode(i, NAMESPACES).id;
  for (const type of cp.cache.getPrepared(id)?.types.values() ?? []) if (type.get(changedCluster)) affected.add(id);
}
const setSnapshot = cp.cache.setSnapshot.bind(cp.cache);
let last = { at: 0, cpu: process.cpuUsage(), count: 0 };
cp.cache.setSnapshot = (id, snapshot) => {
  setSnapshot(id, snapshot);
  if (affected.has(id)) last = { at: performance.now(), cpu: process.cpuUsage(), count: last.count + 1 };
};
process.stdout.write(`N=${N} S=${spec.services} NAMESPACES=${NAMESPACES} SIDECARS=${spec.sidecars ? 1 : 0}\n`);
for (let c = 1; c <= CHANGES; c++) {
  const mesh = buildMesh({ ...spec, weightV1: 80 - 5 * c });
  last = { at: 0, cpu: process.cpuUsage(), count: 0 };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await cp.setMesh(mesh);
  const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system - cpu0.user - cpu0.system) / 1000;
  process.stdout.write(
    `change ${c}: last of ${last.count} affected set after ${(last.at - t0).toFixed(0)} ms (CPU ${cpuMs(last.cpu).toFixed(0)} ms); ` +
      `all ${N} handled after ${(performance.now() - t0).toFixed(0)} ms (CPU ${cpuMs(process.cpuUsage()).toFixed(0)} ms)\n`,
  );
}
await cp.stop();
