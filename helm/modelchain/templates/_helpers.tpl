{{/* app.kubernetes.io/name of every object: "modelchain" unless nameOverride says otherwise. */}}
{{- define "modelchain.name" -}}
{{- default "modelchain" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every object name: the release name unless fullnameOverride says otherwise.
At most 40 characters, so that the longest suffix (-leader-election, -webhook-metrics) keeps
names within 63.
*/}}
{{- define "modelchain.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "modelchain.labels" -}}
app.kubernetes.io/name: {{ include "modelchain.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
The labels that select one component's Pods: every Deployment selector, Service, PDB,
NetworkPolicy and ServiceMonitor goes through here. Called with (dict "ctx" $ "component" "operator").
*/}}
{{- define "modelchain.selectorLabels" -}}
app.kubernetes.io/name: {{ include "modelchain.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The common labels and one component's: for objects that belong to one component. */}}
{{- define "modelchain.componentLabels" -}}
{{ include "modelchain.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "modelchain.image" -}}
{{- if .Values.image.digest -}}{{ .Values.image.repository }}@{{ .Values.image.digest }}{{- else -}}{{ .Values.image.repository }}:{{ .Values.image.tag }}{{- end -}}
{{- end -}}

{{/* The webhook is served by the operator process (inOperator) or by a Deployment of its own. */}}
{{- define "modelchain.webhookInOperator" -}}
{{- if and .Values.webhook.enabled (eq .Values.webhook.mode "inOperator") }}true{{ end -}}
{{- end -}}
{{- define "modelchain.webhookStandalone" -}}
{{- if and .Values.webhook.enabled (eq .Values.webhook.mode "standalone") }}true{{ end -}}
{{- end -}}

{{/*
Where a workload's Pods may run and what they pull with, from the workload's values
(operator or webhook): imagePullSecrets (the chart-wide list first), nodeSelector,
tolerations, affinity, priorityClassName. Called with (dict "ctx" $ "workload" .Values.operator).
*/}}
{{- define "modelchain.podPlacement" -}}
{{- $pullSecrets := concat .ctx.Values.imagePullSecrets .workload.imagePullSecrets -}}
{{- with $pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- with .workload.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .workload.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .workload.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .workload.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "modelchain.ledgerUrl" -}}
{{- if eq .Values.ledger.backend "ic" -}}ic://{{ .Values.ledger.ic.canisterId }}?host={{ .Values.ledger.ic.host }}&outbox=/var/lib/modelchain/outbox{{ with .Values.ledger.ic.rootKey }}&rootKey={{ . }}{{ end }}{{- else -}}/var/lib/modelchain/ledger{{- end -}}
{{- end -}}

{{/* The canister file-ledger checkpoints are anchored on; its outbox sits on the ledger volume. */}}
{{- define "modelchain.anchorUrl" -}}
{{- $a := .Values.ledger.checkpoints.anchor -}}
ic://{{ $a.canisterId }}?host={{ $a.host }}&identity=/var/run/modelchain/anchor-identity/identity.pem&outbox=/var/lib/modelchain/anchor-outbox{{ with $a.rootKey }}&rootKey={{ . }}{{ end }}
{{- end -}}

{{/*
The webhook's serving certificate when cert-manager does not issue it: what the Secret already
in the cluster holds (its name carries the Service's, so it is this Service's certificate), so
that a second render, helm upgrade and Argo CD's diff all see the same bytes and nothing
rotates; otherwise a new CA (kept only as its
certificate: the key is dropped, so nothing can sign another) and a leaf it signed, valid 10
years. Returns YAML: tls.crt, tls.key, ca.crt, base64. Called once per render (webhook.yaml),
since every call of genCA makes a different CA.
*/}}
{{- define "modelchain.webhookTls" -}}
{{- $service := printf "%s-webhook" (include "modelchain.fullname" .) -}}
{{- $dns := printf "%s.%s.svc" $service .Release.Namespace -}}
{{- $existing := (lookup "v1" "Secret" .Release.Namespace (printf "%s-tls" $service)).data | default dict -}}
{{- $reuse := and (index $existing "tls.crt") (index $existing "tls.key") (index $existing "ca.crt") -}}
{{- if $reuse -}}
tls.crt: {{ index $existing "tls.crt" }}
tls.key: {{ index $existing "tls.key" }}
ca.crt: {{ index $existing "ca.crt" }}
{{- else -}}
{{- $ca := genCA (printf "%s-ca" $service) 3650 -}}
{{- $cert := genSignedCert $dns nil (list $dns (printf "%s.%s" $service .Release.Namespace) $service) 3650 $ca -}}
tls.crt: {{ $cert.Cert | b64enc }}
tls.key: {{ $cert.Key | b64enc }}
ca.crt: {{ $ca.Cert | b64enc }}
{{- end -}}
{{- end -}}

{{/* The Secret the webhook serves with: one you manage (webhook.tls.existingSecret) or the chart's. */}}
{{- define "modelchain.webhookTlsSecret" -}}
{{- if and .Values.webhook.tls.existingSecret (not .Values.certManager.enabled) -}}
{{- .Values.webhook.tls.existingSecret -}}
{{- else -}}
{{- include "modelchain.fullname" . }}-webhook-tls
{{- end -}}
{{- end -}}

{{/* What the ServiceMonitor selects: the release's Services labelled modelchain.io/metrics. */}}
{{- define "modelchain.metricsServiceSelector" -}}
app.kubernetes.io/name: {{ include "modelchain.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
modelchain.io/metrics: "true"
{{- end -}}
