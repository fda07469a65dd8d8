// Requests at the MCI edge from this machine, as `curl http://$VIP/hello` in a loop: the demo's measurement at the VIP.

/** N requests from this machine to the edge (4 at a time, keep-alive), counted by helloworld version and by the gateway's cluster. */
export async function sendToEdge(url: string, requests: number): Promise<{ byVersion: Map<string, number>; byGateway: Map<string, number>; failures: number }> {
  const byVersion = new Map<string, number>();
  const byGateway = new Map<string, number>();
  let failures = 0;
  let next = 0;
  const worker = async () => {
    while (next++ < requests) {
      try {
        const res = await fetch(url);
        const body = await res.text();
        const version = /^Hello version: (v\d+),/.exec(body)?.[1];
        if (!res.ok || !version) failures++;
        else byVersion.set(version, (byVersion.get(version) ?? 0) + 1);
        const gateway = res.headers.get('x-meshwork-edge-backend')?.split('/')[0] ?? 'unknown';
        byGateway.set(gateway, (byGateway.get(gateway) ?? 0) + 1);
      } catch {
        failures++;
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { byVersion, byGateway, failures };
}
