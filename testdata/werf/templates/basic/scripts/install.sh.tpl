- apk add {{ join " " .Packages }}
{{- if eq .Env "production" }}
- echo prod > /etc/env
{{- end }}
