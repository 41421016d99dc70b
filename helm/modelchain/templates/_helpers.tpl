{{- define "modelchain.name" -}}modelchain{{- end -}}
{{- define "modelchain.fullname" -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- end -}}
{{- define "modelchain.labels" -}}
app.kubernetes.io/name: modelchain
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "modelchain.image" -}}
{{- if .Values.image.digest -}}{{ .Values.image.repository }}@{{ .Values.image.digest }}{{- else -}}{{ .Values.image.repository }}:{{ .Values.image.tag }}{{- end -}}
{{- end -}}
{{- define "modelchain.ledgerUrl" -}}
{{- if eq .Values.ledger.backend "ic" -}}ic://{{ .Values.ledger.ic.canisterId }}?host={{ .Values.ledger.ic.host }}&outbox=/var/lib/modelchain/outbox{{ with .Values.ledger.ic.rootKey }}&rootKey={{ . }}{{ end }}{{- else -}}/var/lib/modelchain/ledger{{- end -}}
{{- end -}}

{{/* The canister file-ledger checkpoints are anchored on; its outbox sits on the ledger volume. */}}
{{- define "modelchain.anchorUrl" -}}
{{- $a := .Values.ledger.checkpoints.anchor -}}
ic://{{ $a.canisterId }}?host={{ $a.host }}&identity=/var/run/modelchain/anchor-identity/identity.pem&outbox=/var/lib/modelchain/anchor-outbox{{ with $a.rootKey }}&rootKey={{ . }}{{ end }}
{{- end -}}
