// Timestamps as Kubernetes writes them (metav1.Time); the kubelet and the controllers both stamp objects.

/** RFC 3339 with seconds, as Kubernetes writes metav1.Time: '2024-05-01T10:00:00Z'. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
