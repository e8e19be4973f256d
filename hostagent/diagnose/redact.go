package diagnose

import "regexp"

// Redacted replaces every secret the bundle would otherwise carry.
const Redacted = "REDACTED"

var (
	// URL credentials: scheme://user:password@host. The user info runs to
	// the last @ before the host, so a password with an unescaped @ goes
	// whole.
	urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/\s"'\\]*@`)
	// A proxy written without a scheme: user:password@host (not an image
	// reference, name:tag@sha256:...).
	bareUserinfo = regexp.MustCompile(`(^|[\s"'=,;(\[])[^\s:/@"'=,;()\[\]\\]+:[^\s/@"'\\]+@(sha(?:256|384|512):)?`)
	// JSON members that hold credentials, as the docker CLI's config.json
	// (auths.*.auth, identitytoken, registrytoken) and its API's auth
	// configs (password) have them, plain or inside a JSON string (a log
	// line quoting a body).
	secretKeys = `(?i:auth|password|passwd|secret|token|identitytoken|registrytoken|credentials?|api[_-]?key|access[_-]?key|private[_-]?key)`
	jsonSecret = regexp.MustCompile(`("` + secretKeys + `"\s*:\s*")(?:[^"\\]|\\.)*"`)
	// In a JSON string, a member is \"key\": \"value\".
	quotedJSONSecret = regexp.MustCompile(`(\\"` + secretKeys + `\\"\s*:\s*\\")(?:[^"\\]|\\[^"])*\\"`)
	// HTTP headers that carry credentials (X-Registry-Auth is base64 JSON
	// with the registry password), to the end of the line or string.
	// A header map in JSON has it as "X-Registry-Auth":["..."].
	authHeader = regexp.MustCompile(`(?i)((?:proxy-)?authorization|x-registry-auth|x-registry-config)(\\?"?\s*[:=]\s*\[?\s*\\?"?)[^\r\n"\\]+`)
	// key=value, as in environment variables and text logs.
	kvSecret = regexp.MustCompile(`(?i)(\b[A-Za-z0-9_.-]*(?:password|passwd|secret|token)[A-Za-z0-9_.-]*=)[^\s"'&]+`)
)

// RedactText removes credentials from free text (logs, reports, status):
// the user information of URLs (a proxy's user:password@), JSON members
// that hold registry credentials or tokens, authorization headers, and
// password=... pairs. What is not a credential is left byte for byte, and
// redacting twice changes nothing more.
func RedactText(b []byte) []byte {
	b = urlUserinfo.ReplaceAll(b, []byte("${1}"+Redacted+"@"))
	b = bareUserinfo.ReplaceAllFunc(b, func(m []byte) []byte {
		sub := bareUserinfo.FindSubmatch(m)
		if len(sub[2]) > 0 {
			return m // an image digest
		}
		return append(append([]byte{}, sub[1]...), Redacted+"@"...)
	})
	b = jsonSecret.ReplaceAll(b, []byte(`${1}`+Redacted+`"`))
	b = quotedJSONSecret.ReplaceAll(b, []byte(`${1}`+Redacted+`\"`))
	b = authHeader.ReplaceAll(b, []byte("${1}${2}"+Redacted))
	b = kvSecret.ReplaceAll(b, []byte("${1}"+Redacted))
	return b
}
