// Sends N requests from inside a pod (one real curl, keep-alive, through the pod's sidecar when it has
// one) and counts the helloworld answers by version and instance.
import type { MeshworkEnv } from './meshwork.js';

export interface Split {
  byVersion: Record<string, number>;
  byInstance: Record<string, number>;
  failures: number;
  total: number;
}

const ANSWER = /^Hello version: (v\d+), instance: (\S+)$/;

export function parseAnswers(text: string, expected: number): Split {
  const split: Split = { byVersion: {}, byInstance: {}, failures: 0, total: expected };
  let answered = 0;
  for (const line of text.split('\n')) {
    const m = ANSWER.exec(line.trim());
    if (!m) continue;
    answered++;
    split.byVersion[m[1]] = (split.byVersion[m[1]] ?? 0) + 1;
    split.byInstance[m[2]] = (split.byInstance[m[2]] ?? 0) + 1;
  }
  split.failures = expected - answered;
  return split;
}

export async function podName(env: MeshworkEnv, context: string, namespace: string, selector: string): Promise<string> {
  const name = (await env.kubectlOk(context, ['get', 'pods', '-n', namespace, '-l', selector, '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  if (!name) throw new Error(`${context}: no pod for ${selector} in ${namespace}`);
  return name;
}

/** `count` requests to `url` from the pod, in one curl process (-w adds the newline the answers need when they fail). */
export async function sendFromPod(env: MeshworkEnv, context: string, namespace: string, pod: string, url: string, count: number): Promise<Split> {
  const script = `urls=""; i=0; while [ $i -lt ${count} ]; do urls="$urls ${url}"; i=$((i+1)); done; curl -s -m 5 -w '\\n' $urls; exit 0`;
  const res = await env.kubectl(context, ['exec', '-n', namespace, pod, '-c', 'sleep', '--', 'sh', '-c', script]);
  if (res.code !== 0) throw new Error(`exec in ${context}/${pod} failed (${res.code}): ${res.stderr}`);
  return parseAnswers(res.stdout, count);
}
