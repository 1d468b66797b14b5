package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestIdentityProviders(t *testing.T) {
	cfg := mustLoad(t, nil, nil, `
identity-providers:
  - name: corp
    issuer: https://id.example.com/
    jwks-url: https://id.example.com/jwks.json
    audience: [keyhole]
    indexes: ["docs_*", products]
    filters: "visibility:internal"
  - name: local
    issuer: local-issuer
    jwks-url: http://127.0.0.1:8080/jwks
    indexes: ["*"]
  - name: file
    issuer: file-issuer
    jwks-file: /etc/keyhole/jwks.json
    indexes: ["*"]
`)
	want := []IdentityProvider{
		{Name: "corp", Issuer: "https://id.example.com/", JWKSURL: "https://id.example.com/jwks.json",
			Audience: []string{"keyhole"}, Indexes: []string{"docs_*", "products"}, Filters: "visibility:internal"},
		{Name: "local", Issuer: "local-issuer", JWKSURL: "http://127.0.0.1:8080/jwks", Audience: []string{}, Indexes: []string{"*"}},
		{Name: "file", Issuer: "file-issuer", JWKSFile: "/etc/keyhole/jwks.json", Audience: []string{}, Indexes: []string{"*"}},
	}
	if !reflect.DeepEqual(cfg.IdentityProviders, want) {
		t.Errorf("got %+v\nwant %+v", cfg.IdentityProviders, want)
	}
}

func TestIdentityProviderErrors(t *testing.T) {
	const ok = "    issuer: i\n    jwks-url: https://x.example/jwks\n    indexes: ['*']\n"
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "identity-providers:\n  - name: a\n" + ok + "    jwks_url: https://x\n", "jwks_url"},
		{"no issuer", "identity-providers:\n  - name: a\n    jwks-url: https://x.example/\n    indexes: ['*']\n", "issuer is required"},
		{"both sources", "identity-providers:\n  - name: a\n" + ok + "    jwks-file: /f\n", "exactly one"},
		{"no source", "identity-providers:\n  - name: a\n    issuer: i\n    indexes: ['*']\n", "exactly one"},
		{"http not loopback", "identity-providers:\n  - name: a\n    issuer: i\n    jwks-url: http://id.example.com/jwks\n    indexes: ['*']\n", "must be https"},
		{"ftp", "identity-providers:\n  - name: a\n    issuer: i\n    jwks-url: ftp://id.example.com/jwks\n    indexes: ['*']\n", "must be https"},
		{"no indexes", "identity-providers:\n  - name: a\n    issuer: i\n    jwks-url: https://x.example/\n", "indexes is required"},
		{"bad name", "identity-providers:\n  - name: a/b\n" + ok, "name must be"},
		{"duplicate name", "identity-providers:\n  - name: a\n" + ok + "  - name: a\n    issuer: j\n    jwks-file: /f\n    indexes: ['*']\n", "name used twice"},
		{"duplicate issuer", "identity-providers:\n  - name: a\n" + ok + "  - name: b\n" + ok, "issuer used by another"},
		{"env cannot set it", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.yaml == "" {
				cfg := mustLoad(t, nil, map[string]string{"KEYHOLE_IDENTITY_PROVIDERS": "x"}, "")
				if cfg.IdentityProviders != nil {
					t.Errorf("providers from env: %+v", cfg.IdentityProviders)
				}
				return
			}
			_, err := load(t, nil, nil, tt.yaml)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			var se *SettingError
			if tt.name != "unknown key" && (!errors.As(err, &se) || se.Setting != "identity-providers") {
				t.Errorf("err = %#v, want a *SettingError for identity-providers", err)
			}
		})
	}
}
