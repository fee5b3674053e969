{{/* Names and labels shared by every template. */}}
{{- define "edgelb.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "edgelb.selectorLabels" -}}
app.kubernetes.io/name: edgelb
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "edgelb.labels" -}}
{{ include "edgelb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "edgelb.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}


{{- define "edgelb.split" -}}
{{- if eq .Values.controller.mode "split" -}}true{{- else if eq .Values.controller.mode "allInOne" -}}{{- else -}}{{- fail (printf "controller.mode must be split or allInOne, got %q" .Values.controller.mode) -}}{{- end -}}
{{- end -}}

{{- define "edgelb.controllerSelectorLabels" -}}
app.kubernetes.io/name: edgelb-controller
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "edgelb.controllerLabels" -}}
{{ include "edgelb.controllerSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
