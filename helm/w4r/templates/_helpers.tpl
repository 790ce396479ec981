{{/*
The chart's name, shortened to the 63 characters a label value may have.
*/}}
{{- define "w4r.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified name of the release's objects: the release name, with the chart's name
appended unless the release name already contains it.
*/}}
{{- define "w4r.fullname" -}}
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

{{- define "w4r.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "w4r.labels" -}}
helm.sh/chart: {{ include "w4r.chart" . }}
{{ include "w4r.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: w4r
{{- end }}

{{/*
Labels that select the release's pods: the server's and the migration Job's alike (the
NetworkPolicy covers both). The server's pods add component=server.
*/}}
{{- define "w4r.selectorLabels" -}}
app.kubernetes.io/name: {{ include "w4r.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "w4r.serverSelectorLabels" -}}
{{ include "w4r.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/*
The ServiceAccount the server's pods run as.
*/}}
{{- define "w4r.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "w4r.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: by digest when one is given, else by tag (the chart's appVersion by
default).
*/}}
{{- define "w4r.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The port the server listens on inside the pod (the image's W4R_PORT).
*/}}
{{- define "w4r.containerPort" -}}
8000
{{- end }}

{{/*
Environment variables taken from keys of existing Secrets, as a YAML list: a dict of
variable name -> {name, key}. A reference that names no Secret is left out; nothing at all
when none names one.
*/}}
{{- define "w4r.secretEnv" -}}
{{- $env := list }}
{{- range $variable, $reference := . }}
{{- if $reference.name }}
{{- $env = append $env (dict "name" $variable "valueFrom" (dict "secretKeyRef" (dict "name" $reference.name "key" $reference.key))) }}
{{- end }}
{{- end }}
{{- with $env }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
A Secret reference the release cannot run without: fails the render with the cause and the
fix when it names no Secret.
*/}}
{{- define "w4r.requireSecret" -}}
{{- $path := index . 0 }}
{{- $reference := index . 1 }}
{{- $why := index . 2 }}
{{- if not $reference.name }}
{{- fail (printf "%s.name is empty: %s. Create the Secret (see docs/operations.md) and name it there." $path $why) }}
{{- end }}
{{- end }}

{{/*
The pod security context of every pod of the chart.
*/}}
{{- define "w4r.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The container security context of every container of the chart: nothing the server needs
is given up, everything else is.
*/}}
{{- define "w4r.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}
