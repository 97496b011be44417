#!/bin/bash
# make-kubeconfig.sh — creates the ServiceAccount of one node's kubevirt-ksmd (named like the
# node, in namespace kubevirt-ksmd) and prints a kubeconfig for it on stdout.
#
#   kubectl apply -f deploy/rbac.yaml -f deploy/node-patch-policy.yaml
#   bash deploy/make-kubeconfig.sh NODE > kubeconfig            # as a cluster admin
#   install -D -m 0600 kubeconfig /etc/kubevirt-ksmd/kubeconfig   # on NODE
#
# then on NODE, in /etc/kubevirt-ksmd.conf.d/kubernetes.conf:
#   [Source]
#   Type=kubernetes
#   [Kubernetes]
#   Kubeconfig=/etc/kubevirt-ksmd/kubeconfig
#
# The token is a long-lived ServiceAccount token Secret, so the kubeconfig does not expire; for
# short-lived tokens use "kubectl create token NODE -n kubevirt-ksmd --duration=..." and a
# tokenFile that you renew (the daemon re-reads the file when it changes and after a 401).
set -euo pipefail

node=${1:?usage: make-kubeconfig.sh NODE}
ns=kubevirt-ksmd
kubectl=${KUBECTL:-kubectl}

$kubectl get node "$node" >/dev/null
$kubectl -n "$ns" get serviceaccount "$node" >/dev/null 2>&1 || $kubectl -n "$ns" create serviceaccount "$node" >/dev/null
$kubectl -n "$ns" apply -f - >/dev/null <<SECRET
apiVersion: v1
kind: Secret
metadata:
  name: $node-token
  namespace: $ns
  annotations:
    kubernetes.io/service-account.name: $node
type: kubernetes.io/service-account-token
SECRET

token=
for _ in $(seq 50); do
        token=$($kubectl -n "$ns" get secret "$node-token" -o jsonpath='{.data.token}' 2>/dev/null || true)
        [ -n "$token" ] && break
        sleep 0.2
done
[ -n "$token" ] || { echo "The token controller did not fill secret $ns/$node-token." >&2; exit 1; }

server=$($kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')
ca=$($kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
if [ -z "$ca" ]; then
        ca_file=$($kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority}')
        [ -n "$ca_file" ] && ca=$(base64 -w0 < "$ca_file")
fi

cat <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: cluster
    cluster:
      server: $server
      certificate-authority-data: $ca
users:
  - name: kubevirt-ksmd-$node
    user:
      token: $(echo "$token" | base64 -d)
contexts:
  - name: kubevirt-ksmd
    context:
      cluster: cluster
      user: kubevirt-ksmd-$node
current-context: kubevirt-ksmd
KUBECONFIG
