// For tests that run a control plane: Secret istio-system/cacerts with a fresh mesh root and an
// intermediate for the cluster, ready for applyObjects (after the istio-system namespace).
import type { KubeObject } from '../../k8s/object.js';
import { cacertsSecret, createClusterCaCerts, createMeshRoot, type CaCerts } from './cacerts.js';
import type { PemPair } from './x509.js';

export async function testCacerts(clusterName: string, root?: PemPair): Promise<{ files: CaCerts; manifest: { object: KubeObject; source: string } }> {
  const files = await createClusterCaCerts(root ?? (await createMeshRoot()), clusterName);
  return { files, manifest: { object: cacertsSecret('istio-system', files), source: 'test cacerts' } };
}
