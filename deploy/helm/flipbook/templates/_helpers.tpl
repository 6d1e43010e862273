{{- define "flipbook.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "flipbook.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "flipbook.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "flipbook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "flipbook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flipbook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "flipbook.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "flipbook.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "flipbook.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{/* The environment every Flipbook process of the release shares. */}}
{{- define "flipbook.env" -}}
- name: FLIPBOOK_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ required "secrets.secretKey.name is required" .Values.secrets.secretKey.name }}
      key: {{ .Values.secrets.secretKey.key }}
- name: FLIPBOOK_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "secrets.databaseUrl.name is required: every pod must share one PostgreSQL" .Values.secrets.databaseUrl.name }}
      key: {{ .Values.secrets.databaseUrl.key }}
{{- if .Values.secrets.redisUrl.name }}
- name: FLIPBOOK_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.redisUrl.name }}
      key: {{ .Values.secrets.redisUrl.key }}
      optional: {{ .Values.secrets.redisUrl.optional }}
{{- end }}
- name: FLIPBOOK_BUS_PREFIX
  value: {{ default (printf "%s.%s" .Release.Namespace .Release.Name) .Values.config.FLIPBOOK_BUS_PREFIX | quote }}
- name: FLIPBOOK_PUSH_IN_SERVE
  value: "false"
- name: FLIPBOOK_HOST
  value: "0.0.0.0"
- name: FLIPBOOK_HTTP_PORT
  value: {{ .Values.service.httpPort | quote }}
- name: FLIPBOOK_GRPC_PORT
  value: {{ .Values.service.grpcPort | quote }}
{{- range $name, $value := omit .Values.config "FLIPBOOK_BUS_PREFIX" }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "flipbook.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}

{{- define "flipbook.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}
