package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// load parses args into a fresh flag set, writes yaml (if not empty) to
// keyhole.yaml in a new working directory, and calls Load.
func load(t *testing.T, args []string, env map[string]string, yaml string) (Config, error) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	if yaml != "" {
		if err := os.WriteFile(DefaultConfigFile, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse flags: %v", err)
	}
	return Load(fs, func(k string) string { return env[k] })
}

func mustLoad(t *testing.T, args []string, env map[string]string, yaml string) Config {
	t.Helper()
	cfg, err := load(t, args, env, yaml)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, nil, nil, "")
	want := Default()
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v\nwant %+v", cfg, want)
	}
	if cfg.DataDir != "./keyhole-data" || cfg.Listen != "127.0.0.1:7700" || cfg.MaxBodyBytes != 100<<20 ||
		cfg.ShutdownTimeout != 15*time.Second || cfg.LogLevel != "info" || cfg.LogFormat != "text" ||
		!reflect.DeepEqual(cfg.CORSOrigins, []string{"*"}) || cfg.TrustedProxies != nil {
		t.Errorf("defaults changed: %+v", cfg)
	}
}

func TestPrecedence(t *testing.T) {
	const fileAll = `
data-dir: /from/file
listen: "0.0.0.0:1000"
app-id: FILEAPP
cors-origins: ["https://file.example"]
trusted-proxies: ["10.0.0.0/8", "192.168.1.1"]
max-body-bytes: 1000
log-level: warn
log-format: json
shutdown-timeout: 20s
admin-key: file-key
`
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		yaml  string
		check func(t *testing.T, c Config)
	}{
		{
			name: "file over default",
			yaml: fileAll,
			check: func(t *testing.T, c Config) {
				want := Config{
					DataDir: "/from/file", Listen: "0.0.0.0:1000", AppID: "FILEAPP", AdminKey: "file-key",
					CORSOrigins:    []string{"https://file.example"},
					TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")},
					MaxBodyBytes:   1000, LogLevel: "warn", LogFormat: "json", ShutdownTimeout: 20 * time.Second,
				}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got %+v\nwant %+v", c, want)
				}
			},
		},
		{
			name: "env over file",
			yaml: fileAll,
			env: map[string]string{
				"KEYHOLE_DATA_DIR": "/from/env", "KEYHOLE_LISTEN": ":2000", "KEYHOLE_CORS_ORIGINS": "https://a.example, https://b.example",
				"KEYHOLE_TRUSTED_PROXIES": "::1,127.0.0.1", "KEYHOLE_MAX_BODY_BYTES": "2000", "KEYHOLE_LOG_LEVEL": "DEBUG",
				"KEYHOLE_SHUTDOWN_TIMEOUT": "1m", "KEYHOLE_ADMIN_KEY": "env-key", "KEYHOLE_APP_ID": "ENVAPP",
			},
			check: func(t *testing.T, c Config) {
				want := Config{
					DataDir: "/from/env", Listen: ":2000", AppID: "ENVAPP", AdminKey: "env-key",
					CORSOrigins:    []string{"https://a.example", "https://b.example"},
					TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("127.0.0.1/32")},
					MaxBodyBytes:   2000, LogLevel: "debug", LogFormat: "json", ShutdownTimeout: time.Minute,
				}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got %+v\nwant %+v", c, want)
				}
			},
		},
		{
			name: "flags over env over file",
			yaml: fileAll,
			env:  map[string]string{"KEYHOLE_DATA_DIR": "/from/env", "KEYHOLE_LOG_FORMAT": "text", "KEYHOLE_ADMIN_KEY": "env-key"},
			args: []string{"--data-dir=/from/flag", "--cors-origins=https://f.example,http://localhost:3000",
				"--trusted-proxies=10.1.2.3/16", "--max-body-bytes=3000", "--shutdown-timeout=2s", "--admin-key=flag-key"},
			check: func(t *testing.T, c Config) {
				want := Config{
					DataDir: "/from/flag", Listen: "0.0.0.0:1000", AppID: "FILEAPP", AdminKey: "flag-key",
					CORSOrigins:    []string{"https://f.example", "http://localhost:3000"},
					TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
					MaxBodyBytes:   3000, LogLevel: "warn", LogFormat: "text", ShutdownTimeout: 2 * time.Second,
				}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got %+v\nwant %+v", c, want)
				}
			},
		},
		{
			name: "unset flags do not override with their defaults",
			env:  map[string]string{"KEYHOLE_LISTEN": "127.0.0.1:9999"},
			args: []string{"--log-level=error"},
			check: func(t *testing.T, c Config) {
				if c.Listen != "127.0.0.1:9999" || c.LogLevel != "error" || c.DataDir != "./keyhole-data" {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "empty env value counts as unset",
			yaml: "listen: 127.0.0.1:1\n",
			env:  map[string]string{"KEYHOLE_LISTEN": ""},
			check: func(t *testing.T, c Config) {
				if c.Listen != "127.0.0.1:1" {
					t.Errorf("listen = %q", c.Listen)
				}
			},
		},
		{
			name: "empty cors list in file disables CORS",
			yaml: "cors-origins: []\n",
			check: func(t *testing.T, c Config) {
				if len(c.CORSOrigins) != 0 {
					t.Errorf("cors = %q", c.CORSOrigins)
				}
			},
		},
		{
			name: "comma string in file is a list",
			yaml: "trusted-proxies: 10.0.0.1, 10.0.0.2\n",
			check: func(t *testing.T, c Config) {
				if len(c.TrustedProxies) != 2 {
					t.Errorf("proxies = %v", c.TrustedProxies)
				}
			},
		},
		{
			name: "yaml keys are case-insensitive",
			yaml: "Log-Level: debug\n",
			check: func(t *testing.T, c Config) {
				if c.LogLevel != "debug" {
					t.Errorf("level = %q", c.LogLevel)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustLoad(t, tt.args, tt.env, tt.yaml))
		})
	}
}

func TestConfigFileLocation(t *testing.T) {
	other := filepath.Join(t.TempDir(), "other.yml")
	if err := os.WriteFile(other, []byte("app-id: OTHER\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// --config beats KEYHOLE_CONFIG beats ./keyhole.yaml.
	cfg := mustLoad(t, []string{"--config", other}, map[string]string{"KEYHOLE_CONFIG": "/nonexistent.yaml"}, "app-id: CWD\n")
	if cfg.AppID != "OTHER" {
		t.Errorf("--config: app id %q", cfg.AppID)
	}
	cfg = mustLoad(t, nil, map[string]string{"KEYHOLE_CONFIG": other}, "app-id: CWD\n")
	if cfg.AppID != "OTHER" {
		t.Errorf("KEYHOLE_CONFIG: app id %q", cfg.AppID)
	}
	cfg = mustLoad(t, nil, nil, "app-id: CWD\n")
	if cfg.AppID != "CWD" {
		t.Errorf("./keyhole.yaml: app id %q", cfg.AppID)
	}
	// A named file that does not exist is an error; a missing keyhole.yaml is not.
	if _, err := load(t, []string{"--config", "/nonexistent/k.yaml"}, nil, ""); err == nil || !strings.Contains(err.Error(), "config") {
		t.Errorf("missing --config file: err = %v", err)
	}
	if _, err := load(t, nil, map[string]string{"KEYHOLE_CONFIG": "/nonexistent/k.yaml"}, ""); err == nil {
		t.Error("missing KEYHOLE_CONFIG file: no error")
	}
}

func TestUnknownKeyInFile(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"data-dir: x\ndatadir: y\n", `unknown key "datadir"`},
		{"data_dir: y\n", `unknown key "data_dir" (did you mean "data-dir"?)`},
		{"log:\n  level: debug\n", `unknown key "log.level"`},
		{"config: other.yaml\n", `unknown key "config"`},
	}
	for _, tt := range tests {
		_, err := load(t, nil, nil, tt.yaml)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want it to contain %s", tt.yaml, err, tt.want)
		}
	}
	if _, err := load(t, nil, nil, "listen: [oops\n"); err == nil {
		t.Error("malformed YAML: no error")
	}
}

func TestAdminKeyFile(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("s3cret-from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		yaml    string
		want    string
		wantErr string
	}{
		{name: "flag file", args: []string{"--admin-key-file", keyFile}, want: "s3cret-from-file"},
		{name: "env file", env: map[string]string{"KEYHOLE_ADMIN_KEY_FILE": keyFile}, want: "s3cret-from-file"},
		{name: "yaml file", yaml: "admin-key-file: " + keyFile + "\n", want: "s3cret-from-file"},
		{name: "flag key beats env file", args: []string{"--admin-key", "flagkey"},
			env: map[string]string{"KEYHOLE_ADMIN_KEY_FILE": keyFile}, want: "flagkey"},
		{name: "env file beats yaml key", env: map[string]string{"KEYHOLE_ADMIN_KEY_FILE": keyFile},
			yaml: "admin-key: yamlkey\n", want: "s3cret-from-file"},
		{name: "none", want: ""},
		{name: "both flags", args: []string{"--admin-key", "k", "--admin-key-file", keyFile},
			wantErr: "both --admin-key and --admin-key-file"},
		{name: "both env", env: map[string]string{"KEYHOLE_ADMIN_KEY": "k", "KEYHOLE_ADMIN_KEY_FILE": keyFile},
			wantErr: "both KEYHOLE_ADMIN_KEY and KEYHOLE_ADMIN_KEY_FILE"},
		{name: "both yaml", yaml: "admin-key: k\nadmin-key-file: " + keyFile + "\n",
			wantErr: "both admin-key and admin-key-file"},
		{name: "missing file", args: []string{"--admin-key-file", filepath.Join(dir, "nope")}, wantErr: "admin-key-file"},
		{name: "empty file", args: []string{"--admin-key-file", emptyFile}, wantErr: "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, tt.args, tt.env, tt.yaml)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error leaks the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AdminKey != tt.want {
				t.Errorf("admin key = %q, want %q", cfg.AdminKey, tt.want)
			}
		})
	}
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		yaml    string
		setting string
	}{
		{name: "listen no port", args: []string{"--listen", "localhost"}, setting: "listen"},
		{name: "listen bad port", env: map[string]string{"KEYHOLE_LISTEN": "127.0.0.1:http"}, setting: "listen"},
		{name: "listen port range", yaml: "listen: 127.0.0.1:70000\n", setting: "listen"},
		{name: "log level", args: []string{"--log-level", "verbose"}, setting: "log-level"},
		{name: "log format", env: map[string]string{"KEYHOLE_LOG_FORMAT": "xml"}, setting: "log-format"},
		{name: "proxy", args: []string{"--trusted-proxies", "10.0.0.1,not-an-ip"}, setting: "trusted-proxies"},
		{name: "proxy cidr", yaml: "trusted-proxies: [10.0.0.0/33]\n", setting: "trusted-proxies"},
		{name: "body zero", args: []string{"--max-body-bytes", "0"}, setting: "max-body-bytes"},
		{name: "body negative", yaml: "max-body-bytes: -5\n", setting: "max-body-bytes"},
		{name: "body not a number", env: map[string]string{"KEYHOLE_MAX_BODY_BYTES": "10MB"}, setting: "max-body-bytes"},
		{name: "timeout", env: map[string]string{"KEYHOLE_SHUTDOWN_TIMEOUT": "15"}, setting: "shutdown-timeout"},
		{name: "timeout zero", args: []string{"--shutdown-timeout", "0s"}, setting: "shutdown-timeout"},
		{name: "cors origin with path", yaml: "cors-origins: [https://a.example/app]\n", setting: "cors-origins"},
		{name: "cors origin no scheme", env: map[string]string{"KEYHOLE_CORS_ORIGINS": "a.example"}, setting: "cors-origins"},
		{name: "empty data dir", yaml: "data-dir: \"\"\n", setting: "data-dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env, tt.yaml)
			var se *SettingError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want *SettingError", err, err)
			}
			if se.Setting != tt.setting || !strings.Contains(err.Error(), tt.setting) {
				t.Errorf("err = %v, want it to name %q", err, tt.setting)
			}
		})
	}
}

func TestLoadNilArgs(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, err := Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("got %+v", cfg)
	}
}

func TestSlogLevel(t *testing.T) {
	for _, l := range []string{"debug", "info", "warn", "error"} {
		c := Default()
		c.LogLevel = l
		if got := c.SlogLevel().String(); !strings.EqualFold(got, l) {
			t.Errorf("%s -> %s", l, got)
		}
	}
}
