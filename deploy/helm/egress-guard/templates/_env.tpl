{{/* The server's environment: one variable per setting of src/config.ts. */}}
{{- define "egress-guard.env" -}}
- name: PORT
  value: {{ .Values.config.port | quote }}
- name: OPS_PORT
  value: {{ .Values.config.opsPort | quote }}
- name: HOST
  value: {{ .Values.config.host | quote }}
- name: AUTO_ALLOCATE_MODE
  value: {{ .Values.config.autoAllocateMode | quote }}
- name: EXPECTED_PORTS
  value: {{ join "," .Values.config.expectedPorts | quote }}
- name: UNDECLARED_PORTS_ACTION
  value: {{ .Values.config.undeclaredPortsAction | quote }}
- name: ISTIO_VERSION
  value: {{ .Values.config.istioVersion | quote }}
{{- with .Values.config.istiodIpAutoallocate }}
- name: ISTIOD_IP_AUTOALLOCATE
  value: {{ . | quote }}
{{- end }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: SHUTDOWN_DELAY_SECONDS
  value: {{ .Values.config.shutdownDelaySeconds | quote }}
{{- if .Values.config.clientCAConfigMap }}
- name: CLIENT_CA_FILE
  value: /etc/egress-guard/client-ca/ca.crt
{{- end }}
# Certificates come from the Secret through the API (no volume), so a rotation needs no restart.
- name: CERT_SOURCE
  value: secret
- name: CERT_SECRET
  value: {{ include "egress-guard.certSecret" . | quote }}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: WEBHOOK_CONFIGURATION
  value: {{ include "egress-guard.webhookConfiguration" . | quote }}
- name: WEBHOOK_SERVICE
  value: {{ include "egress-guard.fullname" . | quote }}
- name: CERT_VALIDITY_DAYS
  value: {{ .Values.certificates.validityDays | quote }}
- name: CA_VALIDITY_DAYS
  value: {{ .Values.certificates.caValidityDays | quote }}
- name: CERT_CHECK_SECONDS
  value: {{ .Values.certificates.checkSeconds | quote }}
{{- with .Values.config.nodeOptions }}
- name: NODE_OPTIONS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
