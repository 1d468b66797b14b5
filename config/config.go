// Package config builds keyhole's typed [Config] from command-line flags,
// KEYHOLE_* environment variables, an optional YAML file and defaults.
//
// It is the only package that sees viper. Configuration is loaded once with a
// local viper instance, decoded strictly (an unknown key in the YAML file is
// an error), validated, and then handed to the rest of the program as a plain
// [Config] value.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix is the prefix of every environment variable Load reads: the
// setting "data-dir" is read from KEYHOLE_DATA_DIR.
const EnvPrefix = "KEYHOLE_"

// DefaultConfigFile is the YAML file Load reads from the working directory
// when neither --config nor KEYHOLE_CONFIG names one. It is optional.
const DefaultConfigFile = "keyhole.yaml"

// Setting names. They are the flag names, the YAML keys, and (upper-cased,
// with '-' replaced by '_' and EnvPrefix prepended) the environment variable
// names.
const (
	keyDataDir         = "data-dir"
	keyListen          = "listen"
	keyAdminKey        = "admin-key"
	keyAdminKeyFile    = "admin-key-file"
	keyAppID           = "app-id"
	keyCORSOrigins     = "cors-origins"
	keyTrustedProxies  = "trusted-proxies"
	keyMaxBodyBytes    = "max-body-bytes"
	keyLogLevel        = "log-level"
	keyLogFormat       = "log-format"
	keyShutdownTimeout = "shutdown-timeout"
	keyConfig          = "config"
	// keyIdentityProviders is YAML-only: a list of objects has no flag or variable form.
	keyIdentityProviders = "identity-providers"
)

// plainKeys returns the settings that are merged by plain precedence. The
// admin key pair is resolved separately, level by level (see adminKey).
func plainKeys() []string {
	return []string{
		keyDataDir, keyListen, keyAppID, keyCORSOrigins, keyTrustedProxies,
		keyMaxBodyBytes, keyLogLevel, keyLogFormat, keyShutdownTimeout,
	}
}

// isFileKey reports whether key is allowed in the YAML file.
func isFileKey(key string) bool {
	return key == keyAdminKey || key == keyAdminKeyFile || key == keyIdentityProviders ||
		slices.Contains(plainKeys(), key)
}

// isListKey reports whether the setting's value is a list.
func isListKey(key string) bool {
	return key == keyCORSOrigins || key == keyTrustedProxies
}

// Config is keyhole's complete configuration, as plain values.
type Config struct {
	// DataDir is the directory holding the indexes and the generated admin
	// key. Default "./keyhole-data".
	DataDir string

	// Listen is the host:port the HTTP server listens on. Default
	// "127.0.0.1:7700".
	//
	// Warning: a non-loopback address exposes the server to the network;
	// keyhole speaks plain HTTP, so put a TLS-terminating proxy in front of it.
	Listen string

	// AdminKey is the admin API key. Empty means "use or generate
	// <DataDir>/admin.key" (see ResolveAdminKey).
	//
	// Warning: the admin key grants every right on every index. Prefer
	// --admin-key-file or KEYHOLE_ADMIN_KEY_FILE to --admin-key: a flag's
	// value is visible to every local user in the process list.
	AdminKey string

	// AppID is the application id this server answers for. When set,
	// requests naming another application id are refused; when empty, any
	// application id is accepted.
	AppID string

	// CORSOrigins are the origins allowed to call the API from a browser.
	// Default ["*"] (any origin), which suits public search-only keys.
	//
	// Warning: any origin listed here can make browsers send requests with
	// whatever key its page holds; never expose the admin key to a browser.
	CORSOrigins []string

	// TrustedProxies are the peers whose X-Forwarded-For header is believed
	// when working out a client's address. Default none.
	//
	// Warning: a trusted peer chooses the client address that source
	// restrictions (restrictSources) and rate limits see. List only your own
	// reverse proxies, never a range that untrusted clients connect from.
	TrustedProxies []netip.Prefix

	// MaxBodyBytes caps the size of a request body. Default 100 MiB.
	MaxBodyBytes int64

	// LogLevel is one of debug, info, warn, error. Default info.
	LogLevel string

	// LogFormat is text or json. Default text.
	LogFormat string

	// ShutdownTimeout bounds how long a graceful shutdown waits for
	// in-flight requests. Default 15s.
	ShutdownTimeout time.Duration

	// IdentityProviders are the identity providers whose tokens (RS256,
	// ES256, EdDSA...) are accepted, set only in the YAML file
	// ("identity-providers"). Default none.
	//
	// Warning: a provider's tokens may read every index its Indexes name;
	// anyone who can get a token from the provider (or control its JWKS)
	// can search them.
	IdentityProviders []IdentityProvider
}

// IdentityProvider is one entry of "identity-providers" in the YAML file:
//
//	identity-providers:
//	  - name: corp
//	    issuer: https://id.example.com/
//	    jwks-url: https://id.example.com/.well-known/jwks.json
//	    audience: [keyhole]
//	    indexes: ["docs_*"]
//	    filters: "visibility:internal"
type IdentityProvider struct {
	// Name identifies the provider (principals are "idp:<name>"): 1 to 64
	// letters, digits, '.', '_' or '-', unique.
	Name string
	// Issuer is the exact "iss" of its tokens (required, unique).
	Issuer string
	// JWKSURL is the https URL of its JWK Set. Exactly one of JWKSURL and
	// JWKSFile is set.
	JWKSURL string
	// JWKSFile is a file holding its JWK Set.
	JWKSFile string
	// Audience, when not empty, lists the accepted "aud" values.
	Audience []string
	// Indexes are the index names and patterns its tokens may read
	// (required; "*" for all).
	Indexes []string
	// Filters is an Algolia filter forced on all its tokens (optional).
	Filters string
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		DataDir:         "./keyhole-data",
		Listen:          "127.0.0.1:7700",
		CORSOrigins:     []string{"*"},
		MaxBodyBytes:    100 << 20,
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: 15 * time.Second,
	}
}

// SettingError reports a setting whose value is wrong.
type SettingError struct {
	// Setting is the setting's name as written in the YAML file and as a
	// flag, such as "listen".
	Setting string
	// Err says what is wrong with it.
	Err error
}

// Error implements error.
func (e *SettingError) Error() string {
	return fmt.Sprintf("config: %s: %v", e.Setting, e.Err)
}

// Unwrap returns the underlying error.
func (e *SettingError) Unwrap() error { return e.Err }

func settingErr(setting string, format string, args ...any) error {
	return &SettingError{Setting: setting, Err: fmt.Errorf(format, args...)}
}

// RegisterFlags defines keyhole's configuration flags on fs. Their defaults
// are shown in help only: Load uses a flag's value only when the user set it.
func RegisterFlags(fs *pflag.FlagSet) {
	d := Default()
	fs.String(keyDataDir, d.DataDir, "directory holding indexes and the generated admin key")
	fs.String(keyListen, d.Listen, "host:port to listen on")
	fs.String(keyAdminKey, "", "admin API key (visible in the process list: prefer --admin-key-file)")
	fs.String(keyAdminKeyFile, "", "file holding the admin API key")
	fs.String(keyAppID, "", "application id; when set, requests naming another one are refused")
	fs.StringSlice(keyCORSOrigins, d.CORSOrigins, "comma-separated origins allowed by CORS (* for any)")
	fs.StringSlice(keyTrustedProxies, nil, "comma-separated IPs or CIDRs of proxies whose X-Forwarded-For is believed")
	fs.Int64(keyMaxBodyBytes, d.MaxBodyBytes, "maximum request body size in bytes")
	fs.String(keyLogLevel, d.LogLevel, "log level: debug, info, warn or error")
	fs.String(keyLogFormat, d.LogFormat, "log format: text or json")
	fs.Duration(keyShutdownTimeout, d.ShutdownTimeout, "how long a graceful shutdown waits for requests")
	fs.String(keyConfig, "", "YAML configuration file (default ./"+DefaultConfigFile+" if present)")
}

// envName returns the environment variable for a setting.
func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// raw is the merged configuration before conversion and validation.
type raw struct {
	DataDir         string   `mapstructure:"data-dir"`
	Listen          string   `mapstructure:"listen"`
	AdminKey        string   `mapstructure:"admin-key"`
	AdminKeyFile    string   `mapstructure:"admin-key-file"`
	AppID           string   `mapstructure:"app-id"`
	CORSOrigins     []string `mapstructure:"cors-origins"`
	TrustedProxies  []string `mapstructure:"trusted-proxies"`
	MaxBodyBytes    string   `mapstructure:"max-body-bytes"`
	LogLevel        string   `mapstructure:"log-level"`
	LogFormat       string   `mapstructure:"log-format"`
	ShutdownTimeout string   `mapstructure:"shutdown-timeout"`

	IdentityProviders []rawProvider `mapstructure:"identity-providers"`
}

// rawProvider is an identity provider as written in the YAML file.
type rawProvider struct {
	Name     string   `mapstructure:"name"`
	Issuer   string   `mapstructure:"issuer"`
	JWKSURL  string   `mapstructure:"jwks-url"`
	JWKSFile string   `mapstructure:"jwks-file"`
	Audience []string `mapstructure:"audience"`
	Indexes  []string `mapstructure:"indexes"`
	Filters  string   `mapstructure:"filters"`
}

// Load builds the configuration. For each setting the first of these wins:
//
//  1. a flag in fs that the user set (fs must have been parsed; flags not
//     defined by RegisterFlags are ignored; fs may be nil);
//  2. the environment variable KEYHOLE_<SETTING>, read through getenv (an
//     empty value counts as unset; lists are comma-separated; getenv may be
//     nil);
//  3. the YAML file named by --config or KEYHOLE_CONFIG, else
//     ./keyhole.yaml if it exists (a key unknown to keyhole is an error);
//  4. the default (see Default).
//
// The admin key can also come from a file (admin-key-file, --admin-key-file,
// KEYHOLE_ADMIN_KEY_FILE), whose content with trailing line breaks removed is
// the key; setting both the key and its file at the same level is an error. A
// relative path, like data-dir, is relative to the working directory.
//
// The result is validated (see Config.Validate). Errors name the setting.
func Load(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if fs == nil {
		fs = pflag.NewFlagSet("none", pflag.ContinueOnError)
	}
	flagSet := func(key string) bool {
		f := fs.Lookup(key)
		return f != nil && f.Changed
	}

	// The YAML file.
	path, explicit := "", false
	switch {
	case flagSet(keyConfig):
		path, explicit = fs.Lookup(keyConfig).Value.String(), true
	case getenv(envName(keyConfig)) != "":
		path, explicit = getenv(envName(keyConfig)), true
	default:
		path = DefaultConfigFile
	}
	file, err := readFile(path, explicit)
	if err != nil {
		return Config{}, err
	}

	v := viper.New()
	d := Default()
	v.SetDefault(keyDataDir, d.DataDir)
	v.SetDefault(keyListen, d.Listen)
	v.SetDefault(keyCORSOrigins, d.CORSOrigins)
	v.SetDefault(keyTrustedProxies, []string{})
	v.SetDefault(keyMaxBodyBytes, strconv.FormatInt(d.MaxBodyBytes, 10))
	v.SetDefault(keyLogLevel, d.LogLevel)
	v.SetDefault(keyLogFormat, d.LogFormat)
	v.SetDefault(keyShutdownTimeout, d.ShutdownTimeout.String())
	if file != nil {
		if err := v.MergeConfigMap(file.AllSettings()); err != nil {
			return Config{}, fmt.Errorf("config: file %s: %w", path, err)
		}
	}
	// Environment, then flags: v.Set overrides, so the last one wins.
	for _, key := range plainKeys() {
		s := getenv(envName(key))
		if s == "" {
			continue
		}
		if isListKey(key) {
			v.Set(key, splitList(s))
		} else {
			v.Set(key, s)
		}
	}
	for _, key := range plainKeys() {
		if !flagSet(key) {
			continue
		}
		if isListKey(key) {
			list, err := fs.GetStringSlice(key)
			if err != nil {
				return Config{}, settingErr(key, "%v", err)
			}
			v.Set(key, cleanList(list))
		} else {
			v.Set(key, fs.Lookup(key).Value.String())
		}
	}

	var r raw
	if err := v.UnmarshalExact(&r); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	r.AdminKey, err = adminKey(fs, flagSet, getenv, file, path)
	if err != nil {
		return Config{}, err
	}
	cfg, err := r.convert()
	if err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// readFile reads the YAML file into its own viper instance and rejects
// unknown keys. A missing file is an error only when it was named
// explicitly; then it returns nil, nil.
func readFile(path string, explicit bool) (*viper.Viper, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, settingErr(keyConfig, "%v", err)
	}
	f := viper.New()
	f.SetConfigType("yaml")
	if err := f.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("config: file %s: %w", path, err)
	}
	keys := f.AllKeys()
	slices.Sort(keys)
	for _, k := range keys {
		if isFileKey(k) {
			continue
		}
		hint := ""
		if alt := strings.ReplaceAll(k, "_", "-"); isFileKey(alt) {
			hint = fmt.Sprintf(" (did you mean %q?)", alt)
		}
		return nil, fmt.Errorf("config: file %s: unknown key %q%s", path, k, hint)
	}
	return f, nil
}

// adminKeyLevel is what one configuration level says about the admin key.
type adminKeyLevel struct {
	name              string // "flags", "environment", "file x.yaml"
	keyName, fileName string // how the level spells the two settings
	key, file         string
	hasKey, hasFile   bool
}

// adminKey resolves the admin key pair level by level: the highest level
// that sets either the key or its file decides, and setting both there is an
// error.
func adminKey(fs *pflag.FlagSet, flagSet func(string) bool, getenv func(string) string, file *viper.Viper, path string) (string, error) {
	flags := adminKeyLevel{name: "flags", keyName: "--" + keyAdminKey, fileName: "--" + keyAdminKeyFile}
	if flags.hasKey = flagSet(keyAdminKey); flags.hasKey {
		flags.key = fs.Lookup(keyAdminKey).Value.String()
	}
	if flags.hasFile = flagSet(keyAdminKeyFile); flags.hasFile {
		flags.file = fs.Lookup(keyAdminKeyFile).Value.String()
	}
	env := adminKeyLevel{
		name: "environment", keyName: envName(keyAdminKey), fileName: envName(keyAdminKeyFile),
		key: getenv(envName(keyAdminKey)), file: getenv(envName(keyAdminKeyFile)),
	}
	env.hasKey, env.hasFile = env.key != "", env.file != ""
	levels := []adminKeyLevel{flags, env}
	if file != nil {
		levels = append(levels, adminKeyLevel{
			name: "file " + path, keyName: keyAdminKey, fileName: keyAdminKeyFile,
			key: file.GetString(keyAdminKey), file: file.GetString(keyAdminKeyFile),
			hasKey: file.IsSet(keyAdminKey), hasFile: file.IsSet(keyAdminKeyFile),
		})
	}
	for _, l := range levels {
		switch {
		case l.hasKey && l.hasFile:
			return "", settingErr(keyAdminKey, "both %s and %s are set in the %s; set only one", l.keyName, l.fileName, l.name)
		case l.hasKey:
			return l.key, nil
		case l.hasFile:
			if l.file == "" {
				return "", settingErr(keyAdminKeyFile, "empty path (%s)", l.name)
			}
			data, err := os.ReadFile(l.file)
			if err != nil {
				return "", settingErr(keyAdminKeyFile, "%v", err)
			}
			key := strings.TrimRight(string(data), "\r\n")
			if key == "" {
				return "", settingErr(keyAdminKeyFile, "%s is empty", l.file)
			}
			return key, nil
		}
	}
	return "", nil
}

// splitList splits a comma-separated environment value.
func splitList(s string) []string {
	return cleanList(strings.Split(s, ","))
}

// cleanList trims the items of a list and drops empty ones.
func cleanList(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// convert turns the merged strings into typed values.
func (r raw) convert() (Config, error) {
	cfg := Config{
		DataDir:     r.DataDir,
		Listen:      strings.TrimSpace(r.Listen),
		AdminKey:    r.AdminKey,
		AppID:       r.AppID,
		CORSOrigins: cleanList(r.CORSOrigins),
		LogLevel:    strings.ToLower(strings.TrimSpace(r.LogLevel)),
		LogFormat:   strings.ToLower(strings.TrimSpace(r.LogFormat)),
	}
	for _, s := range cleanList(r.TrustedProxies) {
		p, err := parsePrefix(s)
		if err != nil {
			return Config{}, settingErr(keyTrustedProxies, "%q is not an IP address or CIDR range", s)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(r.MaxBodyBytes), 10, 64)
	if err != nil {
		return Config{}, settingErr(keyMaxBodyBytes, "%q is not a whole number of bytes", r.MaxBodyBytes)
	}
	cfg.MaxBodyBytes = n
	dur, err := time.ParseDuration(strings.TrimSpace(r.ShutdownTimeout))
	if err != nil {
		return Config{}, settingErr(keyShutdownTimeout, "%q is not a duration such as 15s", r.ShutdownTimeout)
	}
	cfg.ShutdownTimeout = dur
	for _, p := range r.IdentityProviders {
		cfg.IdentityProviders = append(cfg.IdentityProviders, IdentityProvider{
			Name:     strings.TrimSpace(p.Name),
			Issuer:   strings.TrimSpace(p.Issuer),
			JWKSURL:  strings.TrimSpace(p.JWKSURL),
			JWKSFile: strings.TrimSpace(p.JWKSFile),
			Audience: cleanList(p.Audience),
			Indexes:  cleanList(p.Indexes),
			Filters:  p.Filters,
		})
	}
	return cfg, nil
}

// parsePrefix parses a CIDR range or a single address (as a /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Validate reports the first setting whose value is wrong, as a
// *SettingError.
func (c Config) Validate() error {
	if strings.TrimSpace(c.DataDir) == "" {
		return settingErr(keyDataDir, "must not be empty")
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return settingErr(keyListen, "%q is not host:port: %v", c.Listen, err)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || (port != "0" && p == 0) {
		return settingErr(keyListen, "%q: port %q is not a number from 0 to 65535", c.Listen, port)
	}
	if strings.ContainsAny(host, " /?#@") {
		return settingErr(keyListen, "%q: %q is not a host name or IP address", c.Listen, host)
	}
	for _, o := range c.CORSOrigins {
		if err := checkOrigin(o); err != nil {
			return settingErr(keyCORSOrigins, "%q: %v", o, err)
		}
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			return settingErr(keyTrustedProxies, "invalid prefix %v", p)
		}
	}
	if c.MaxBodyBytes <= 0 {
		return settingErr(keyMaxBodyBytes, "must be greater than 0, got %d", c.MaxBodyBytes)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return settingErr(keyLogLevel, "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return settingErr(keyLogFormat, "%q is not one of text, json", c.LogFormat)
	}
	if c.ShutdownTimeout <= 0 {
		return settingErr(keyShutdownTimeout, "must be greater than 0, got %v", c.ShutdownTimeout)
	}
	return validateProviders(c.IdentityProviders)
}

// validateProviders checks the identity providers: names and issuers unique, exactly one
// key source, a JWKS URL that is https.
func validateProviders(ps []IdentityProvider) error {
	names, issuers := map[string]bool{}, map[string]bool{}
	for i, p := range ps {
		at := fmt.Sprintf("entry %d", i+1)
		if p.Name != "" {
			at = fmt.Sprintf("%q", p.Name)
		}
		switch {
		case !validProviderName(p.Name):
			return settingErr(keyIdentityProviders, "%s: name must be 1 to 64 letters, digits, '.', '_' or '-'", at)
		case names[p.Name]:
			return settingErr(keyIdentityProviders, "%s: name used twice", at)
		case p.Issuer == "":
			return settingErr(keyIdentityProviders, "%s: issuer is required", at)
		case issuers[p.Issuer]:
			return settingErr(keyIdentityProviders, "%s: issuer used by another provider", at)
		case (p.JWKSURL == "") == (p.JWKSFile == ""):
			return settingErr(keyIdentityProviders, "%s: set exactly one of jwks-url and jwks-file", at)
		case len(p.Indexes) == 0:
			return settingErr(keyIdentityProviders, "%s: indexes is required (use [\"*\"] for every index)", at)
		}
		if p.JWKSURL != "" {
			if err := checkJWKSURL(p.JWKSURL); err != nil {
				return settingErr(keyIdentityProviders, "%s: %v", at, err)
			}
		}
		for _, a := range p.Audience {
			if a == "" {
				return settingErr(keyIdentityProviders, "%s: empty audience", at)
			}
		}
		names[p.Name], issuers[p.Issuer] = true, true
	}
	return nil
}

func validProviderName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkJWKSURL accepts https, and http only to a loopback host (localhost, 127.0.0.0/8, ::1):
// keys fetched over plain HTTP can be replaced by anyone on the network path, who could then
// sign tokens that keyhole accepts, while a loopback connection never leaves the machine
// (e.g. a sidecar that serves the keys).
func checkJWKSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("jwks-url %q is not an absolute URL", s)
	}
	if u.User != nil {
		return errors.New("jwks-url must not hold user information")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if strings.EqualFold(h, "localhost") {
			return nil
		}
		if a, err := netip.ParseAddr(h); err == nil && a.Unmap().IsLoopback() {
			return nil
		}
		return errors.New("jwks-url must be https (http only to a loopback host): keys fetched in clear can be swapped")
	}
	return errors.New("jwks-url must be https")
}

// checkOrigin accepts "*" or scheme://host[:port] with no path.
func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil {
		return err
	}
	if u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("not \"*\" or an origin such as https://example.com")
	}
	return nil
}

// SlogLevel returns LogLevel as a slog.Level (info if it is unknown).
func (c Config) SlogLevel() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
