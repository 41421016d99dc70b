# The cluster's PKI and credentials (sourced by up.sh): a CA; the API server's serving cert for the
# node address, the kubernetes Service IP and its names; the API server's client cert for the
# kubelet; the service-account key pair; static bearer tokens for the admin (system:masters), the
# node, the scheduler, the controller-manager and kube-proxy, each with its kubeconfig.
# shellcheck shell=bash
make_pki() { # pki dir, kubeconfig dir, API server URL
  local p="$1" cfg="$2" api="$3"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$p/ca.key" -out "$p/ca.crt" -days 30 -subj /CN=modelchain-e2e-ca 2>/dev/null
  pki_leaf "$p" apiserver /CN=kube-apiserver "subjectAltName=IP:$node_ip,IP:${svc_cidr%.0/24}.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
  pki_leaf "$p" kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
  openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
  openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  : > "$p/tokens.csv"
  local user who groups token
  while read -r user who groups; do
    token="$(openssl rand -hex 24)"
    if [ "$groups" = - ]; then echo "$token,$who,$who"; else echo "$token,$who,$who,\"$groups\""; fi >> "$p/tokens.csv"
    cat > "$cfg/$user.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: "$api", certificate-authority-data: "$(base64 -w0 "$p/ca.crt")"}}]
users: [{name: $user, user: {token: "$token"}}]
contexts: [{name: e2e, context: {cluster: e2e, user: $user}}]
current-context: e2e
KC
  done <<USERS
admin admin system:masters
kubelet system:node:$node_name system:nodes
scheduler system:kube-scheduler -
controller-manager system:kube-controller-manager -
proxy system:kube-proxy -
USERS
  chmod 600 "$p"/*.key "$p/tokens.csv" "$cfg"/*.kubeconfig
}

pki_leaf() { # dir, name, subject, extensions
  openssl req -newkey rsa:2048 -nodes -keyout "$1/$2.key" -out "$1/$2.csr" -subj "$3" 2>/dev/null
  openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -CAcreateserial -out "$1/$2.crt" -days 30 \
    -extfile <(printf '%s\n' "$4") 2>/dev/null
}
