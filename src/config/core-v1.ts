// core/v1 shapes that both the kubelet and the sidecar injector read: only the fields they use.

export interface ObjectFieldSelector {
  fieldPath: string;
  apiVersion?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: ObjectFieldSelector; [source: string]: unknown };
}

export interface ContainerPort {
  containerPort: number;
  name?: string;
  protocol?: string;
}
