// `meshwork analyze`: the problems the translator finds in the mesh config, printed as `istioctl
// analyze` prints them, from a cluster's control plane (/debug/analyze) or, with -f, from YAML files
// before they are applied. Exit 79 (istioctl's code) when errors are found; warnings alone exit 0.

import { formatStructured } from './output.js';
import { loadKubeConfig } from '../k8s/client/client.js';
import { readManifests, type Manifest } from '../k8s/client/manifests.js';
import { analyze } from '../translate/translate.js';
import type { ConfigKind, Problem, ProblemCode } from '../config/problems.js';
import { problemAt } from '../config/problems.js';
import { validateIstioObject } from '../config/istio-validation/validate.js';
import type { KubeObject } from '../k8s/object.js';
import { messageType } from '../controlplane/analysis-messages.js';
import { getJson, locateControlPlane } from './control-plane.js';
import { CommandError, errorMessage, outBlock, type CommandIo } from './io.js';
import { offlineSnapshot } from './analyze-offline.js';
import { readLiveObjects } from './live-objects.js';
import { misspeltFields } from './misspelt-fields.js';
import { kindSchema } from '../config/schemas/kind-schemas.js';
import { localKubeconfig } from '../runtime/state.js';

/** istioctl's exit code when analyzers find issues at or above the failure threshold. */
export const ANALYZE_FOUND_ISSUES = 79;

/** The IST (or MW) code of a problem, as istioctl prints it. */
export function messageCode(code: ProblemCode): string {
  return messageType(code).code;
}

/** `Error [IST0101] (VirtualService sample/helloworld) message (spec.http[0]...)` */
export function formatProblem(p: Problem): string {
  const level = p.severity === 'error' ? 'Error' : p.severity === 'warning' ? 'Warning' : 'Info';
  return `${level} [${messageCode(p.code)}] (${p.kind} ${p.namespace}/${p.name}) ${p.message}${p.field ? ` (at ${p.field})` : ''}`;
}

const isProblem = (v: unknown): v is Problem =>
  typeof v === 'object' && v !== null && ['severity', 'code', 'kind', 'name', 'namespace', 'message'].every((k) => typeof (v as Record<string, unknown>)[k] === 'string');

export function parseAnalyzeAnswer(body: unknown): Problem[] {
  const problems = (body as { problems?: unknown } | null)?.problems;
  if (!Array.isArray(problems)) throw new Error('not a /debug/analyze answer: expected {problems: [...]}');
  const bad = problems.filter((p) => !isProblem(p)).length;
  if (bad > 0) throw new Error(`/debug/analyze: ${bad} problem(s) of an unknown shape`);
  return problems.filter(isProblem);
}

const VALIDATED_KINDS: readonly ConfigKind[] = ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry', 'Sidecar', 'AuthorizationPolicy'];

/** What istiod's validating webhook would deny in these objects, as findings (IST0106, as istioctl's schema check). */
export function validationProblems(objects: readonly KubeObject[], defaultNamespace: string): Problem[] {
  const out: Problem[] = [];
  for (const o of objects) {
    const kind = VALIDATED_KINDS.find((k) => k === o.kind);
    if (!kind || !o.apiVersion.startsWith(kind === 'AuthorizationPolicy' ? 'security.istio.io/' : 'networking.istio.io/')) continue;
    const ref = { kind, name: o.metadata.name ?? '', namespace: o.metadata.namespace ?? defaultNamespace };
    const result = validateIstioObject({ kind, metadata: ref, spec: o.spec });
    for (const e of result.errors) out.push(problemAt(ref, 'error', 'invalid-config', e.field, `Schema validation error: ${e.message}`));
    for (const w of result.warnings) out.push(problemAt(ref, 'warning', 'invalid-config', w.field, `Schema validation warning: ${w.message}`));
    const shape = kindSchema(o.apiVersion, o.kind)?.shape();
    for (const m of shape ? misspeltFields(o, shape, '') : []) {
      const hint = m.suggestion ? `; did you mean "${m.suggestion}"?` : '';
      out.push(problemAt(ref, 'error', 'invalid-config', m.field, `Schema validation error: unknown field "${m.field.split('.').pop() ?? m.field}" in ${kind}${hint}`));
    }
  }
  return out;
}

export interface AnalyzeOptions {
  kubeconfig?: string;
  context?: string;
  stateDir?: string;
  /** Only problems of this namespace (default: all). */
  namespace?: string;
  /** Analyze these files/folders, as if applied to the cluster (or alone, with useKube false). */
  files: string[];
  /** istioctl's --use-kube: merge the files with the live cluster's objects (default true). */
  useKube?: boolean;
  controlPlaneAddress?: string;
  output: 'table' | 'json' | 'yaml';
}

export async function runAnalyze(opts: AnalyzeOptions, io: CommandIo): Promise<number> {
  let problems: Problem[];
  let scope: string;
  const kubeConfig = () => loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}), localKubeconfig: localKubeconfig(opts.stateDir) });
  if (opts.files.length > 0) {
    let manifests;
    try {
      manifests = readManifests(opts.files);
    } catch (err) {
      throw new CommandError(errorMessage(err));
    }
    const live: Manifest[] = [];
    let liveFrom = '';
    if (opts.useKube !== false) {
      try {
        // The mesh spans every cluster of the kubeconfig: a subset whose pods run in another cluster
        // still has endpoints. --context narrows it to one.
        const kc = kubeConfig();
        const contexts = opts.context ? [opts.context] : kc.getContexts().map((c) => c.name);
        liveFrom = contexts.join(', ');
        for (const context of contexts) {
          kc.setCurrentContext(context);
          live.push(...(await readLiveObjects(kc)));
        }
      } catch (err) {
        throw new CommandError(`${errorMessage(err)}\nanalyze -f merges the files with the cluster's objects; to analyze the files alone, add --use-kube=false`);
      }
    }
    const mesh = offlineSnapshot([...live, ...manifests], opts.namespace ?? 'default');
    for (const line of mesh.replaced) io.err(`note: ${line}`);
    const invalid = validationProblems(manifests.map((m) => m.object), opts.namespace ?? 'default');
    // A field Istio's validation refuses is reported once, in Istio's words.
    const refused = new Set(invalid.map((p) => `${p.kind}|${p.namespace}|${p.name}|${p.field}`));
    problems = [...invalid, ...analyze(mesh.snapshot).filter((p) => !refused.has(`${p.kind}|${p.namespace}|${p.name}|${p.field}`))];
    scope = `${manifests.length} object(s) from ${opts.files.join(', ')}${liveFrom ? ` with the ${live.length} of context(s) ${liveFrom}` : ''}`;
  } else {
    const kc = kubeConfig();
    const cp = await locateControlPlane(kc, opts.controlPlaneAddress ? { address: opts.controlPlaneAddress } : {});
    try {
      problems = parseAnalyzeAnswer(await getJson(cp.url, '/debug/analyze'));
    } catch (err) {
      throw new CommandError(`${cp.url}/debug/analyze: ${errorMessage(err)}`);
    }
    scope = `the mesh of context ${kc.getCurrentContext()}`;
  }
  if (opts.namespace) problems = problems.filter((p) => p.namespace === opts.namespace);
  const where = opts.namespace ? `namespace: ${opts.namespace}` : 'all namespaces';
  const errors = problems.filter((p) => p.severity === 'error').length;
  if (opts.output !== 'table') {
    outBlock(io, formatStructured(problems.map((p) => ({ ...p, messageCode: messageCode(p.code) })), opts.output));
  } else if (problems.length === 0) {
    io.out(`✔ No validation issues found when analyzing ${where} (${scope}).`);
  } else {
    for (const p of problems) io.out(formatProblem(p));
    if (errors > 0) io.err(`Error: Analyzers found issues when analyzing ${where} (${scope}).`);
  }
  return errors > 0 ? ANALYZE_FOUND_ISSUES : 0;
}
