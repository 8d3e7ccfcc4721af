{{/* Chart name, for the app.kubernetes.io/name label. */}}
{{- define "egress-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the namespaced objects: the release name when it already contains the chart name. */}}
{{- define "egress-guard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Cluster-scoped names (ClusterRoles and their bindings) carry the namespace too, so two releases never collide. */}}
{{- define "egress-guard.clusterName" -}}
{{- $full := include "egress-guard.fullname" . }}
{{- if eq .Release.Namespace $full }}{{ $full }}{{ else }}{{ printf "%s-%s" $full .Release.Namespace | trunc 63 | trimSuffix "-" }}{{ end }}
{{- end }}

{{- define "egress-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "egress-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "egress-guard.labels" -}}
{{ include "egress-guard.selectorLabels" . }}
app.kubernetes.io/component: admission-webhook
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "egress-guard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret the server reads its certificates from (CERT_SECRET). */}}
{{- define "egress-guard.certSecret" -}}
{{- if .Values.certificates.secretName }}
{{- .Values.certificates.secretName }}
{{- else if eq .Values.certificates.source "cert-manager" }}
{{- printf "%s-tls" (include "egress-guard.fullname" .) }}
{{- else }}
{{- printf "%s-certs" (include "egress-guard.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Name of both webhook configurations. The API server calls mutating configurations in name order and Istio's
sidecar injector ("istio-sidecar-injector", "istio-revision-tag-*") must run after ours, so the name must sort
before "istio-".
*/}}
{{- define "egress-guard.webhookConfiguration" -}}
{{- $name := .Values.webhooks.configurationName }}
{{- if not (lt $name "istio-") }}
{{- fail (printf "webhooks.configurationName %q sorts after \"istio-\": the API server would call Istio's sidecar injector before egress-guard, which would then not see the DNS-capture settings" $name) }}
{{- end }}
{{- $name }}
{{- end }}

{{/* Whether an optional Prometheus Operator object is rendered: true, false, or auto (the cluster serves the kind). */}}
{{- define "egress-guard.operatorKind" -}}
{{- $enabled := index . 0 }}{{ $ctx := index . 1 }}{{ $kind := index . 2 }}
{{- if eq (toString $enabled) "auto" }}
{{- if $ctx.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" $kind) }}true{{ end }}
{{- else if eq (toString $enabled) "true" }}true
{{- end }}
{{- end }}
