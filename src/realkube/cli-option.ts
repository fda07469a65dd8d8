// `meshwork up --apiserver local|real`: which API server each cluster runs. `local` (the default) is
// ours (local/apiserver); `real` is Kubernetes' own (up-real.ts; binaries by scripts/ensure-kube-binaries.mjs).
import { Option } from 'commander';

export { runUpReal, sayRealModeGaps } from './up-real.js';

export type ApiServerKind = 'local' | 'real';

export function apiServerOption(): Option {
  return new Option('--apiserver <kind>', 'local: our embedded API server; real: kube-apiserver + etcd + kube-controller-manager v1.34.4 (built by scripts/ensure-kube-binaries.mjs), one process-kubelet node per cluster; see docs/kubernetes-mode.md')
    .choices(['local', 'real'])
    .default('local');
}
