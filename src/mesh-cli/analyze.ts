// `meshwork analyze`: the problems the translator finds in the mesh config, printed as `istioctl
// analyze` prints them, from a cluster's control plane (/debug/analyze) or, with -f, from YAML files
// before they are applied. Exit 79 (istioctl's code) when errors are found; warnings alone exit 0.

import { formatStructured } from '../cli/output.js';
import { loadKubeConfig } from '../kubeapi/client.js';
import { readManifests } from '../kubeapi/manifests.js';
import { analyze } from '../translate/translate.js';
import type { ConfigKind, Problem, ProblemCode } from '../translate/problems.js';
import { problemAt } from '../translate/problems.js';
import { validateIstioObject } from '../config/istio-validation/validate.js';
import type { KubeObject } from '../config/object.js';
import { getJson, locateControlPlane } from './control-plane.js';
import { CommandError, errorMessage, outBlock, type CommandIo } from './io.js';
import { offlineSnapshot } from './analyze-offline.js';

/** istioctl's exit code when analyzers find issues at or above the failure threshold. */
export const ANALYZE_FOUND_ISSUES = 79;

/**
 * Istio's analyzer message codes where one matches; MW codes for checks Istio has no code for.
 * IST0101 ReferencedResourceNotFound, IST0106 SchemaValidationError (duplicate subset names too: Istio's webhook rejects them),
 * IST0109 ConflictingMeshGatewayVirtualServiceHosts, IST0112 VirtualServiceDestinationPortSelectorRequired,
 * IST0125 InvalidAnnotation.
 */
const CODES: Record<ProblemCode, string> = {
  'unknown-host': 'IST0101',
  'unknown-subset': 'IST0101',
  'unknown-port': 'IST0101',
  'unknown-gateway': 'IST0101',
  'ambiguous-port': 'IST0112',
  'duplicate-domain': 'IST0109',
  'duplicate-host': 'IST0109',
  'duplicate-subset': 'IST0106',
  'zero-total-weight': 'IST0106',
  'negative-weight': 'IST0106',
  'invalid-duration': 'IST0106',
  'invalid-match': 'IST0106',
  'invalid-percentage': 'IST0106',
  'invalid-route': 'IST0106',
  'invalid-config': 'IST0106',
  unsupported: 'MW0001',
  'unsupported-by-proxyless': 'MW0002',
  'config-diverges-between-clusters': 'MW0003',
  'subset-selects-nothing': 'MW0004',
  'invalid-annotation': 'IST0125',
};

export function messageCode(code: ProblemCode): string {
  // A newer control plane may report a code this CLI does not know yet.
  return Object.hasOwn(CODES, code) ? CODES[code] : 'MW0000';
}

/** `Error [IST0101] (VirtualService sample/helloworld) message (spec.http[0]...)` */
export function formatProblem(p: Problem): string {
  const level = p.severity === 'error' ? 'Error' : 'Warning';
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

const VALIDATED_KINDS: readonly ConfigKind[] = ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry'];

/** What istiod's validating webhook would deny in these objects, as findings (IST0106, as istioctl's schema check). */
export function validationProblems(objects: readonly KubeObject[], defaultNamespace: string): Problem[] {
  const out: Problem[] = [];
  for (const o of objects) {
    const kind = VALIDATED_KINDS.find((k) => k === o.kind);
    if (!kind || !o.apiVersion.startsWith('networking.istio.io/')) continue;
    const ref = { kind, name: o.metadata.name ?? '', namespace: o.metadata.namespace ?? defaultNamespace };
    const result = validateIstioObject({ kind, metadata: ref, spec: o.spec });
    for (const e of result.errors) out.push(problemAt(ref, 'error', 'invalid-config', e.field, `Schema validation error: ${e.message}`));
    for (const w of result.warnings) out.push(problemAt(ref, 'warning', 'invalid-config', w.field, `Schema validation warning: ${w.message}`));
  }
  return out;
}

export interface AnalyzeOptions {
  kubeconfig?: string;
  context?: string;
  stateDir?: string;
  /** Only problems of this namespace (default: all). */
  namespace?: string;
  /** Offline: analyze these files/folders instead of a cluster. */
  files: string[];
  controlPlaneAddress?: string;
  output: 'table' | 'json' | 'yaml';
}

export async function runAnalyze(opts: AnalyzeOptions, io: CommandIo): Promise<number> {
  let problems: Problem[];
  let scope: string;
  if (opts.files.length > 0) {
    let manifests;
    try {
      manifests = readManifests(opts.files);
    } catch (err) {
      throw new CommandError(errorMessage(err));
    }
    const mesh = offlineSnapshot(manifests, opts.namespace ?? 'default');
    for (const line of mesh.replaced) io.err(`note: ${line}`);
    const invalid = validationProblems(manifests.map((m) => m.object), opts.namespace ?? 'default');
    // A field Istio's validation refuses is reported once, in Istio's words.
    const refused = new Set(invalid.map((p) => `${p.kind}|${p.namespace}|${p.name}|${p.field}`));
    problems = [...invalid, ...analyze(mesh.snapshot).filter((p) => !refused.has(`${p.kind}|${p.namespace}|${p.name}|${p.field}`))];
    scope = `${manifests.length} object(s) from ${opts.files.join(', ')}`;
  } else {
    const kc = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}), ...(opts.stateDir ? { stateDir: opts.stateDir } : {}) });
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
