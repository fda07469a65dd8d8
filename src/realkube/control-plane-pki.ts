// The credentials a real control plane of one cluster runs with, made once and kept in `<dir>/pki`:
// a cluster CA; kube-apiserver's serving certificate (its address, the first ClusterIP and the
// `kubernetes.default.svc` names); kube-controller-manager's serving certificate; the service-account
// signing key pair (RSA 2048, which every Kubernetes version reads); a client certificate for the
// API server's calls to kubelets; and a static token file with the admin token (user `admin` in
// system:masters, as the local API server's) and kube-controller-manager's token (user
// system:kube-controller-manager, which the bootstrap RBAC policy binds).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate } from '../security/pki/authority.js';

export interface ControlPlanePki {
  dir: string;
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  /** The API server's client certificate for kubelets (logs, exec, port-forward go through them). */
  kubeletClientCert: string;
  kubeletClientKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  tokenFile: string;
  caPem: string;
  adminToken: string;
  controllerManagerToken: string;
}

export interface PkiRequest {
  dir: string;
  clusterName: string;
  apiServerIp: string;
  /** The first address of the service range: the `kubernetes` Service's ClusterIP. */
  kubernetesServiceIp: string;
}

function paths(pkiDir: string): Omit<ControlPlanePki, 'caPem' | 'adminToken' | 'controllerManagerToken'> {
  const at = (file: string) => join(pkiDir, file);
  return {
    dir: pkiDir,
    caCert: at('ca.crt'),
    caKey: at('ca.key'),
    apiserverCert: at('apiserver.crt'),
    apiserverKey: at('apiserver.key'),
    controllerManagerCert: at('controller-manager.crt'),
    controllerManagerKey: at('controller-manager.key'),
    kubeletClientCert: at('apiserver-kubelet-client.crt'),
    kubeletClientKey: at('apiserver-kubelet-client.key'),
    serviceAccountKey: at('sa.key'),
    serviceAccountPub: at('sa.pub'),
    tokenFile: at('tokens.csv'),
  };
}

const ADMIN = { user: 'admin', uid: 'admin', groups: 'system:masters' };
const CONTROLLER_MANAGER = { user: 'system:kube-controller-manager', uid: 'system:kube-controller-manager', groups: '' };

/** kube-apiserver's --token-auth-file: `token,user,uid,"group1,group2"` per line. */
function tokenFileText(adminToken: string, controllerManagerToken: string): string {
  const line = (token: string, who: { user: string; uid: string; groups: string }) => `${token},${who.user},${who.uid}${who.groups ? `,"${who.groups}"` : ''}\n`;
  return line(adminToken, ADMIN) + line(controllerManagerToken, CONTROLLER_MANAGER);
}

function readTokens(tokenFile: string): { adminToken: string; controllerManagerToken: string } {
  const byUser = new Map(readFileSync(tokenFile, 'utf8').split('\n').filter(Boolean).map((line) => [line.split(',')[1], line.split(',')[0]!] as const));
  const adminToken = byUser.get(ADMIN.user);
  const controllerManagerToken = byUser.get(CONTROLLER_MANAGER.user);
  if (!adminToken || !controllerManagerToken) throw new Error(`${tokenFile} lacks the admin or kube-controller-manager token: delete ${tokenFile} to make new ones`);
  return { adminToken, controllerManagerToken };
}

export async function loadOrCreateControlPlanePki(req: PkiRequest): Promise<ControlPlanePki> {
  const files = paths(join(req.dir, 'pki'));
  const all = Object.entries(files).filter(([k]) => k !== 'dir').map(([, f]) => f);
  if (all.every((f) => existsSync(f))) {
    return { ...files, caPem: readFileSync(files.caCert, 'utf8'), ...readTokens(files.tokenFile) };
  }
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority(`${req.clusterName}-ca`);
  const apiserver = await issueServerCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: [req.apiServerIp, req.kubernetesServiceIp, '127.0.0.1'],
  });
  const controllerManager = await issueServerCertificate(ca, { commonName: 'kube-controller-manager', dnsNames: ['localhost'], ipAddresses: [req.apiServerIp] });
  const kubeletClient = await issueClientCertificate(ca, { commonName: 'kube-apiserver-kubelet-client', organization: ['kubeadm:cluster-admins'] });
  const serviceAccount = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const adminToken = randomBytes(24).toString('base64url');
  const controllerManagerToken = randomBytes(24).toString('base64url');
  const secret = { mode: 0o600 };
  writeFileSync(files.caCert, ca.certPem);
  writeFileSync(files.caKey, ca.keyPem, secret);
  writeFileSync(files.apiserverCert, apiserver.certPem);
  writeFileSync(files.apiserverKey, apiserver.keyPem, secret);
  writeFileSync(files.controllerManagerCert, controllerManager.certPem);
  writeFileSync(files.controllerManagerKey, controllerManager.keyPem, secret);
  writeFileSync(files.kubeletClientCert, kubeletClient.certPem);
  writeFileSync(files.kubeletClientKey, kubeletClient.keyPem, secret);
  writeFileSync(files.serviceAccountKey, serviceAccount.privateKey, secret);
  writeFileSync(files.serviceAccountPub, serviceAccount.publicKey);
  // Written last: its presence with all the others means the set is complete.
  writeFileSync(files.tokenFile, tokenFileText(adminToken, controllerManagerToken), secret);
  return { ...files, caPem: ca.certPem, adminToken, controllerManagerToken };
}

/** What a node of the cluster runs with (node.ts), made once per node and kept in `<pki>/nodes/<name>`. */
export interface NodeCredentials {
  /** The kubelet's client certificate: user `system:node:<name>` in group `system:nodes`, for the Node authorizer. */
  nodeCertPem: string;
  nodeKeyPem: string;
  /**
   * No kube-scheduler runs: the node binds the pods it takes, as `system:kube-scheduler` (the bootstrap
   * RBAC binds that user), since node rights only reach pods already bound to the node.
   */
  schedulerCertPem: string;
  schedulerKeyPem: string;
  /** The kubelet server's certificate (its InternalIP), which kube-apiserver checks against the cluster CA. */
  servingCertPem: string;
  servingKeyPem: string;
}

export async function loadOrCreateNodeCredentials(pki: ControlPlanePki, nodeName: string, hostIp: string): Promise<NodeCredentials> {
  const dir = join(pki.dir, 'nodes', nodeName);
  const names = ['node', 'scheduler', 'serving'] as const;
  const files = Object.fromEntries(names.map((n) => [n, { cert: join(dir, `${n}.crt`), key: join(dir, `${n}.key`) }])) as Record<(typeof names)[number], { cert: string; key: string }>;
  const addressFile = join(dir, 'serving-ip');
  const complete = names.every((n) => existsSync(files[n].cert) && existsSync(files[n].key)) && existsSync(addressFile) && readFileSync(addressFile, 'utf8') === hostIp;
  if (!complete) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ca = { certPem: pki.caPem, keyPem: readFileSync(pki.caKey, 'utf8') };
    const issued = {
      node: await issueClientCertificate(ca, { commonName: `system:node:${nodeName}`, organization: ['system:nodes'] }),
      scheduler: await issueClientCertificate(ca, { commonName: 'system:kube-scheduler' }),
      serving: await issueServerCertificate(ca, { commonName: nodeName, dnsNames: [nodeName, 'localhost'], ipAddresses: [hostIp] }),
    };
    for (const n of names) {
      writeFileSync(files[n].cert, issued[n].certPem);
      writeFileSync(files[n].key, issued[n].keyPem, { mode: 0o600 });
    }
    // Written last: its presence with all the others means the set is complete (and for this address).
    writeFileSync(addressFile, hostIp);
  }
  const read = (n: (typeof names)[number]) => ({ cert: readFileSync(files[n].cert, 'utf8'), key: readFileSync(files[n].key, 'utf8') });
  const node = read('node');
  const scheduler = read('scheduler');
  const serving = read('serving');
  return { nodeCertPem: node.cert, nodeKeyPem: node.key, schedulerCertPem: scheduler.cert, schedulerKeyPem: scheduler.key, servingCertPem: serving.cert, servingKeyPem: serving.key };
}
