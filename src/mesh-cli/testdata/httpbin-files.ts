// A workload as `analyze -f` sees it in a user's files: the httpbin Deployment and its Service in
// namespace foo, for the policies a test puts after it.
export const HTTPBIN_FILES = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: httpbin, namespace: foo}
spec:
  selector: {matchLabels: {app: httpbin}}
  template:
    metadata: {labels: {app: httpbin}}
    spec: {containers: [{name: httpbin, image: httpbin, ports: [{containerPort: 8000}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: foo}
spec: {selector: {app: httpbin}, ports: [{name: http, port: 8000}]}
`;
