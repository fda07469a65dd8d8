// What the Canary controller needs on a real cluster, least privilege: its ClusterRole (the config
// cluster's Canaries and their status and Events; each member cluster's VirtualServices, DestinationRules,
// Services and Pods). Bind it to the identity the controller's kubeconfig contexts use.
//
// Exports: CANARY_CONTROLLER_ROLE, canaryControllerClusterRole().
import { CANARY_GROUP, CANARY_PLURAL } from '../config/canary/types.js';

export const CANARY_CONTROLLER_ROLE = 'meshwork-canary-controller';

export function canaryControllerClusterRole(): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: CANARY_CONTROLLER_ROLE, labels: { 'app.kubernetes.io/part-of': 'meshwork' } },
    rules: [
      { apiGroups: [CANARY_GROUP], resources: [CANARY_PLURAL], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [CANARY_GROUP], resources: [`${CANARY_PLURAL}/status`], verbs: ['get', 'patch', 'update'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['get', 'list', 'watch', 'patch'] },
      { apiGroups: ['networking.istio.io'], resources: ['destinationrules'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['services', 'pods'], verbs: ['get', 'list', 'watch'] },
    ],
  };
}
