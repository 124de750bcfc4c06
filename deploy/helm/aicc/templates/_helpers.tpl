{{/* ---------------------------------------------------------------- names */}}
{{- define "aicc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aicc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "aicc.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The five services, in port order. */}}
{{- define "aicc.serviceNames" -}}
identity intake review funding supervision
{{- end -}}

{{/* Who calls whom (gRPC). Used for egress of the caller and ingress of the callee. */}}
{{- define "aicc.callGraph" -}}
identity: []
intake: [identity]
review: [identity]
funding: [identity]
supervision: [identity]
worker: [identity, intake, review, funding, supervision]
{{- end -}}

{{/* ---------------------------------------------------------------- labels
Call with (dict "root" $ "component" "intake"). */}}
{{- define "aicc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aicc.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "aicc.labels" -}}
helm.sh/chart: {{ include "aicc.chart" .root }}
{{ include "aicc.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: aicc
aicc.gov.cn/scope: {{ .root.Values.instance.scope }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------- image */}}
{{- define "aicc.imageRef" -}}
{{- $repo := .repository -}}
{{- if .registry -}}{{- $repo = printf "%s/%s" .registry .repository -}}{{- end -}}
{{- if eq (toString .tag) "latest" -}}{{- fail "image tag 'latest' is not allowed: pin a version" -}}{{- end -}}
{{- if .digest -}}
{{- printf "%s:%s@%s" $repo (toString .tag) .digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (toString .tag) -}}
{{- end -}}
{{- end -}}

{{- define "aicc.image" -}}
{{- $img := deepCopy .Values.image -}}
{{- $_ := set $img "tag" (default .Chart.AppVersion .Values.image.tag) -}}
{{- include "aicc.imageRef" $img -}}
{{- end -}}

{{- define "aicc.temporalImage" -}}
{{- $img := .Values.temporal.devServer.image -}}
{{- if $img.repository -}}
{{- if not $img.tag -}}{{- fail "temporal.devServer.image.tag is required with temporal.devServer.image.repository" -}}{{- end -}}
{{- include "aicc.imageRef" $img -}}
{{- else -}}
{{- include "aicc.image" . -}}
{{- end -}}
{{- end -}}

{{/* ---------------------------------------------------------------- addresses */}}
{{- define "aicc.serviceHost" -}}
{{- printf "%s-%s.%s.svc" (include "aicc.fullname" .root) .service .root.Release.Namespace -}}
{{- end -}}

{{- define "aicc.temporalAddress" -}}
{{- if .Values.temporal.address -}}
{{- .Values.temporal.address -}}
{{- else if .Values.temporal.devServer.enabled -}}
{{- printf "%s-temporal.%s.svc:%d" (include "aicc.fullname" .) .Release.Namespace (int .Values.temporal.devServer.port) -}}
{{- else -}}
127.0.0.1:7233
{{- end -}}
{{- end -}}

{{/* Effective settings of one service: serviceDefaults, each key replaced whole by services.<name>.overrides. */}}
{{- define "aicc.serviceConfig" -}}
{{- $cfg := deepCopy .root.Values.serviceDefaults -}}
{{- range $k, $v := (index .root.Values.services .service).overrides -}}
{{- $_ := set $cfg $k $v -}}
{{- end -}}
{{- $_ := set $cfg "port" (index .root.Values.services .service).port -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* ---------------------------------------------------------------- security (Pod Security "restricted") */}}
{{- define "aicc.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "aicc.containerSecurityContext" -}}
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
{{- end -}}

{{/* ---------------------------------------------------------------- environment
Call with (dict "root" $ "component" "intake"). Never carries a secret value: secrets are files or secretKeyRef. */}}
{{- define "aicc.env" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
- name: AICC_DEV_MODE
  value: "false"
- name: AICC_DATA_DIR
  value: {{ $v.dataDir | quote }}
- name: AICC_LISTEN_HOST
  value: {{ $v.listenHost | quote }}
- name: AICC_POLICY_DIR
  value: {{ $v.policy.mountPath | quote }}
- name: AICC_POLICY_NAME
  value: {{ $v.policy.name | quote }}
- name: AICC_INSTANCE_SCOPE
  value: {{ $v.instance.scope | quote }}
{{- if eq $v.instance.scope "city" }}
- name: AICC_INSTANCE_CITY_CODE
  value: {{ $v.instance.cityCode | quote }}
- name: AICC_PROVINCE_INTAKE_ADDRESS
  value: {{ $v.instance.provinceIntakeAddress | quote }}
{{- end }}
{{- range $svc := splitList " " (include "aicc.serviceNames" $root) }}
{{- $port := (index $v.services $svc).port }}
- name: AICC_{{ upper $svc }}_PORT
  value: {{ $port | quote }}
- name: AICC_{{ upper $svc }}_ADDRESS
  value: {{ printf "%s:%d" (include "aicc.serviceHost" (dict "root" $root "service" $svc)) (int $port) | quote }}
{{- end }}
- name: AICC_TEMPORAL_ADDRESS
  value: {{ include "aicc.temporalAddress" $root | quote }}
- name: AICC_TEMPORAL_NAMESPACE
  value: {{ $v.temporal.namespace | quote }}
- name: AICC_TEMPORAL_TASK_QUEUE
  value: {{ $v.temporal.taskQueue | quote }}
{{- if and $v.secrets.tls.existingSecret (ne .component "migrate") }}
- name: AICC_TLS_CERT_FILE
  value: /etc/aicc/tls/tls.crt
- name: AICC_TLS_KEY_FILE
  value: /etc/aicc/tls/tls.key
- name: AICC_TLS_CA_FILE
  value: /etc/aicc/tls/ca.crt
{{- end }}
{{- if $v.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.otel.endpoint | quote }}
{{- end }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "aicc-%s" .component | quote }}
{{- $attrs := list (printf "service.namespace=%s" (include "aicc.fullname" $root)) (printf "deployment.environment=%s" $v.instance.environment) (printf "aicc.scope=%s" $v.instance.scope) -}}
{{- if $v.instance.cityCode }}{{ $attrs = append $attrs (printf "aicc.city_code=%s" $v.instance.cityCode) }}{{ end -}}
{{- range $k, $val := $v.otel.resourceAttributes }}{{ $attrs = append $attrs (printf "%s=%s" $k $val) }}{{ end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- range $k, $val := $v.otel.env }}
- name: {{ $k }}
  value: {{ $val | quote }}
{{- end }}
{{- end -}}

{{/* Database URL of one service, from the existing Secret only. (dict "root" $ "service" "intake") */}}
{{- define "aicc.databaseEnv" -}}
- name: AICC_{{ upper .service }}_DATABASE_URL_FILE
  value: /etc/aicc/database/{{ .service }}{{ .root.Values.secrets.database.keySuffix }}
{{- end -}}

{{/* The database Secret as files (never env vars), only the keys of the given services.
     Usage: include "aicc.databaseVolume" (dict "root" $root "services" (list "intake")) */}}
{{- define "aicc.databaseVolume" -}}
- name: database
  secret:
    secretName: {{ required "secrets.database.existingSecret is required" .root.Values.secrets.database.existingSecret }}
    defaultMode: 0440
    items:
      {{- range .services }}
      - key: {{ printf "%s%s" . $.root.Values.secrets.database.keySuffix }}
        path: {{ printf "%s%s" . $.root.Values.secrets.database.keySuffix }}
      {{- end }}
{{- end -}}

{{- define "aicc.databaseVolumeMount" -}}
- name: database
  mountPath: /etc/aicc/database
  readOnly: true
{{- end -}}

{{/* ---------------------------------------------------------------- volumes */}}
{{- define "aicc.commonVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .root.Values.tmpSizeLimit }}
- name: data
  emptyDir:
    sizeLimit: {{ .root.Values.tmpSizeLimit }}
- name: policies
  configMap:
    name: {{ include "aicc.fullname" .root }}-policies
{{- if and .root.Values.secrets.tls.existingSecret (ne .component "migrate") }}
- name: tls
  secret:
    secretName: {{ .root.Values.secrets.tls.existingSecret }}
    defaultMode: 0440
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end -}}

{{- define "aicc.commonVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: {{ .root.Values.dataDir }}
- name: policies
  mountPath: {{ .root.Values.policy.mountPath }}
  readOnly: true
{{- if and .root.Values.secrets.tls.existingSecret (ne .component "migrate") }}
- name: tls
  mountPath: /etc/aicc/tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------- NetworkPolicy peers
Renders the `from:`/`to:` list items of a peer; nothing when the peer has no cidrs and no labels. */}}
{{- define "aicc.peerItems" -}}
{{- $items := list -}}
{{- range .cidrs }}{{ $items = append $items (dict "ipBlock" (dict "cidr" .)) }}{{ end -}}
{{- if or .namespaceLabels .podLabels -}}
{{- $sel := dict -}}
{{- if .namespaceLabels }}{{ $_ := set $sel "namespaceSelector" (dict "matchLabels" .namespaceLabels) }}{{ end -}}
{{- if .podLabels }}{{ $_ := set $sel "podSelector" (dict "matchLabels" .podLabels) }}{{ end -}}
{{- $items = append $items $sel -}}
{{- end -}}
{{- toYaml $items -}}
{{- end -}}

{{- define "aicc.peerIsAny" -}}
{{- if not (or .cidrs .namespaceLabels .podLabels) }}true{{ end -}}
{{- end -}}

{{/* One egress rule (a one-item list) to a peer on its ports. (dict "peer" $p "protocols" (list "TCP")) */}}
{{- define "aicc.egressRule" -}}
{{- $ports := list -}}
{{- range $port := .peer.ports }}{{ range $proto := $.protocols }}{{ $ports = append $ports (dict "protocol" $proto "port" $port) }}{{ end }}{{ end -}}
{{- $rule := dict "ports" $ports -}}
{{- if not (include "aicc.peerIsAny" .peer) }}{{ $_ := set $rule "to" (include "aicc.peerItems" .peer | fromYamlArray) }}{{ end -}}
{{- toYaml (list $rule) -}}
{{- end -}}

{{/* Egress every aicc pod needs: DNS, PostgreSQL, the OTLP collector when set. */}}
{{- define "aicc.baseEgress" -}}
{{- $np := .Values.networkPolicy -}}
{{ include "aicc.egressRule" (dict "peer" $np.dns "protocols" (list "UDP" "TCP")) }}
{{ include "aicc.egressRule" (dict "peer" $np.postgres "protocols" (list "TCP")) }}
{{- if .Values.otel.endpoint }}
{{ include "aicc.egressRule" (dict "peer" $np.otlp "protocols" (list "TCP")) }}
{{- end }}
{{- end -}}

{{/* Egress to Temporal: the bundled dev server, or the configured peer. */}}
{{- define "aicc.temporalEgress" -}}
{{- if .Values.temporal.devServer.enabled -}}
- to:
    - podSelector:
        matchLabels:
          {{- include "aicc.selectorLabels" (dict "root" . "component" "temporal") | nindent 10 }}
  ports:
    - protocol: TCP
      port: {{ .Values.temporal.devServer.port }}
{{- else -}}
{{ include "aicc.egressRule" (dict "peer" .Values.networkPolicy.temporal "protocols" (list "TCP")) }}
{{- end -}}
{{- end -}}

{{/* ---------------------------------------------------------------- Temporal security (intake and the worker only)
The payload codec's keys (always) and the client certificate for the Temporal frontend (when set;
required with an external cluster). Call with the root context. */}}
{{- define "aicc.temporalChecks" -}}
{{- if and .Values.temporal.address (not .Values.temporal.tls.existingSecret) -}}
{{- fail "temporal.tls.existingSecret is required with temporal.address: intake and the worker reach a Temporal cluster over mTLS (client certificate tls.crt/tls.key, ca.crt)" -}}
{{- end -}}
{{- end -}}

{{- define "aicc.temporalEnv" -}}
{{- include "aicc.temporalChecks" . -}}
- name: AICC_TEMPORAL_CODEC_KEYS_DIR
  value: /etc/aicc/temporal-codec
{{- with .Values.temporal.tls }}
{{- if .existingSecret }}
- name: AICC_TEMPORAL_TLS_CERT_FILE
  value: /etc/aicc/temporal-tls/tls.crt
- name: AICC_TEMPORAL_TLS_KEY_FILE
  value: /etc/aicc/temporal-tls/tls.key
{{- if .privateCA }}
- name: AICC_TEMPORAL_TLS_CA_FILE
  value: /etc/aicc/temporal-tls/ca.crt
{{- end }}
{{- if .serverName }}
- name: AICC_TEMPORAL_TLS_SERVER_NAME
  value: {{ .serverName | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "aicc.temporalVolumes" -}}
- name: temporal-codec-keys
  secret:
    secretName: {{ required "secrets.temporalCodecKeys.existingSecret is required" .Values.secrets.temporalCodecKeys.existingSecret }}
    defaultMode: 0440
{{- with .Values.temporal.tls }}
{{- if .existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ .existingSecret }}
    defaultMode: 0440
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
      {{- if .privateCA }}
      - key: ca.crt
        path: ca.crt
      {{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "aicc.temporalVolumeMounts" -}}
- name: temporal-codec-keys
  mountPath: /etc/aicc/temporal-codec
  readOnly: true
{{- if .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  mountPath: /etc/aicc/temporal-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------- working-day calendars
The calendar ConfigMap, for the processes that count working days (intake fixes a call's dates, the
worker times a phase). AICC_CALENDAR_DIR is read at every count: a year added by `calendars.extra`
is used once the kubelet has updated the volume (the checksum annotation also rolls the pods). */}}
{{- define "aicc.calendarEnv" -}}
- name: AICC_CALENDAR_DIR
  value: {{ .Values.calendars.mountPath | quote }}
{{- end -}}

{{- define "aicc.calendarVolume" -}}
- name: calendars
  configMap:
    name: {{ include "aicc.fullname" . }}-calendars
{{- end -}}

{{- define "aicc.calendarVolumeMount" -}}
- name: calendars
  mountPath: {{ .Values.calendars.mountPath }}
  readOnly: true
{{- end -}}

{{/* The calendar files as ConfigMap data: files/calendars/*.yaml, then calendars.extra (same name replaces). */}}
{{- define "aicc.calendarFiles" -}}
{{- $data := dict -}}
{{- range $path, $_ := .Files.Glob "files/calendars/*.yaml" }}
{{- $_ := set $data (base $path) ($.Files.Get $path) }}
{{- end }}
{{- range $name, $content := .Values.calendars.extra }}
{{- $_ := set $data $name $content }}
{{- end }}
{{- range $name := keys $data | sortAlpha }}
{{ $name }}: |-
  {{- index $data $name | trimSuffix "\n" | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Only the files' content: the same calendars give the same checksum in every namespace. */}}
{{- define "aicc.calendarChecksum" -}}
checksum/calendars: {{ include "aicc.calendarFiles" . | sha256sum }}
{{- end -}}
