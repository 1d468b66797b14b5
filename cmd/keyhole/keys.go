package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/config"
)

// keyClient manages keys through a running server's REST API, or through the key store in
// the data dir when no server runs (the store is locked while a server has it open).
type keyClient struct {
	server string
	admin  string
	appID  string
	store  *auth.KeyStore
}

func openKeyClient(ctx context.Context, cfg config.Config, server string) (*keyClient, error) {
	if server == "" {
		server = serverURL(cfg.Listen)
	}
	if serverUp(ctx, server) {
		key, err := existingAdminKey(cfg)
		if err != nil {
			return nil, err
		}
		return &keyClient{server: server, admin: key, appID: cfg.AppID}, nil
	}
	ks, err := auth.OpenKeyStore(filepath.Join(cfg.DataDir, "keys.db"), time.Now)
	if err != nil {
		return nil, fmt.Errorf("no server answers at %s, and the key store cannot be opened: %w", server, err)
	}
	return &keyClient{store: ks}, nil
}

func (c *keyClient) Close() {
	if c.store != nil {
		c.store.Close()
	}
}

func (c *keyClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Algolia-API-Key", c.admin)
	if c.appID != "" {
		req.Header.Set("X-Algolia-Application-Id", c.appID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, e.Message)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func (c *keyClient) create(ctx context.Context, spec auth.KeySpec) (auth.Key, error) {
	if c.store != nil {
		return c.store.Create(spec)
	}
	var created struct {
		Key string `json:"key"`
	}
	if err := c.call(ctx, http.MethodPost, "/1/keys", spec, &created); err != nil {
		return auth.Key{}, err
	}
	var k auth.Key
	err := c.call(ctx, http.MethodGet, "/1/keys/"+url.PathEscape(created.Key), nil, &k)
	return k, err
}

func (c *keyClient) list(ctx context.Context) ([]auth.Key, error) {
	if c.store != nil {
		return c.store.List(), nil
	}
	var out struct {
		Keys []auth.Key `json:"keys"`
	}
	err := c.call(ctx, http.MethodGet, "/1/keys", nil, &out)
	return out.Keys, err
}

func (c *keyClient) delete(ctx context.Context, value string) error {
	if c.store != nil {
		return c.store.Delete(value)
	}
	return c.call(ctx, http.MethodDelete, "/1/keys/"+url.PathEscape(value), nil, nil)
}

func newKeysCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage API keys and mint secured keys"}
	var server string
	withConfig := func(c *cobra.Command) *cobra.Command {
		config.RegisterFlags(c.Flags())
		c.Flags().StringVar(&server, "server", "", "base URL of a running keyhole (default: from --listen)")
		return c
	}
	load := func(fs *pflag.FlagSet) (config.Config, error) { return config.Load(fs, getenv) }
	// withClient loads the config and opens the key client around a command's work.
	withClient := func(run func(c *cobra.Command, args []string, kc *keyClient) error) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, args []string) error {
			cfg, err := load(c.Flags())
			if err != nil {
				return err
			}
			kc, err := openKeyClient(c.Context(), cfg, server)
			if err != nil {
				return err
			}
			defer kc.Close()
			return run(c, args, kc)
		}
	}

	var spec auth.KeySpec
	var validFor time.Duration
	create := withConfig(&cobra.Command{Use: "create", Short: "Create a stored API key", Args: cobra.NoArgs})
	create.Flags().StringSliceVar(&spec.ACL, "acl", []string{"search"}, "rights (search, browse, addObject, ...)")
	create.Flags().StringSliceVar(&spec.Indexes, "indexes", nil, "indexes the key may use (names or * patterns)")
	create.Flags().StringVar(&spec.Description, "description", "", "what the key is for")
	create.Flags().StringVar(&spec.QueryParameters, "query-parameters", "", "restrictions embedded in the key, as a params string")
	create.Flags().IntVar(&spec.MaxHitsPerQuery, "max-hits-per-query", 0, "cap on hitsPerPage")
	create.Flags().DurationVar(&validFor, "valid-for", 0, "validity (0: forever)")
	create.RunE = withClient(func(c *cobra.Command, _ []string, kc *keyClient) error {
		spec.Validity = int64(validFor / time.Second)
		k, err := kc.create(c.Context(), spec)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key:  %s\nid:   %s\nacl:  %s\n", k.Value, k.ID, strings.Join(k.ACL, ","))
		return nil
	})

	list := withConfig(&cobra.Command{Use: "list", Short: "List stored API keys", Args: cobra.NoArgs})
	list.RunE = withClient(func(c *cobra.Command, _ []string, kc *keyClient) error {
		keys, err := kc.list(c.Context())
		if err != nil {
			return err
		}
		for _, k := range keys {
			fmt.Fprintf(stdout, "%s  id=%s  acl=%s  indexes=%s  %s\n", k.Value, k.ID, strings.Join(k.ACL, ","), strings.Join(k.Indexes, ","), k.Description)
		}
		return nil
	})

	del := withConfig(&cobra.Command{Use: "delete KEY", Short: "Delete a stored API key (and every key derived from it)", Args: cobra.ExactArgs(1)})
	del.RunE = withClient(func(c *cobra.Command, args []string, kc *keyClient) error {
		if err := kc.delete(c.Context(), args[0]); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "deleted")
		return nil
	})

	var sr auth.SecuredRestrictions
	var parent string
	var securedFor time.Duration
	secured := &cobra.Command{Use: "secured", Short: "Mint a secured API key from a parent key (offline)", Args: cobra.NoArgs}
	secured.Flags().StringVar(&parent, "parent", "", "the parent search key (required)")
	secured.Flags().StringVar(&sr.Filters, "filters", "", "filters forced into every search")
	secured.Flags().StringSliceVar(&sr.RestrictIndices, "indices", nil, "indexes the key may use")
	secured.Flags().StringVar(&sr.RestrictSources, "sources", "", "allowed client IPs or CIDR ranges")
	secured.Flags().StringVar(&sr.UserToken, "user-token", "", "user token bound to the key")
	secured.Flags().DurationVar(&securedFor, "valid-for", time.Hour, "validity (0: no expiry)")
	_ = secured.MarkFlagRequired("parent")
	secured.RunE = func(c *cobra.Command, _ []string) error {
		if securedFor > 0 {
			sr.ValidUntil = time.Now().Add(securedFor)
		}
		k, err := auth.GenerateSecuredAPIKey(parent, sr)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, k)
		return nil
	}
	var tc auth.TokenClaims
	var tokenKey string
	var ttl time.Duration
	token := withConfig(&cobra.Command{Use: "token", Short: "Mint a user token (HS256 JWT) signed by a stored key", Args: cobra.NoArgs})
	token.Flags().StringVar(&tokenKey, "key", "", "id (or value) of the signing key (required)")
	token.Flags().StringVar(&tc.Subject, "sub", "", "the user (forced onto each index's userAttribute)")
	token.Flags().StringVar(&tc.Filters, "filters", "", "filters forced into every search")
	token.Flags().StringSliceVar(&tc.RestrictIndices, "indices", nil, "indexes the token may read")
	token.Flags().StringVar(&tc.UserToken, "user-token", "", "user token bound to the token")
	token.Flags().IntVar(&tc.RateLimit, "rate-limit", 0, "most queries per minute for this user (0: none)")
	token.Flags().DurationVar(&ttl, "ttl", 10*time.Minute, "lifetime (at most 24h)")
	_ = token.MarkFlagRequired("key")
	token.RunE = withClient(func(c *cobra.Command, _ []string, kc *keyClient) error {
		keys, err := kc.list(c.Context())
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.ID == tokenKey || k.Value == tokenKey {
				t, err := auth.GenerateToken(k, tc, ttl, time.Now())
				if err != nil {
					return err
				}
				fmt.Fprintln(stdout, t)
				return nil
			}
		}
		return fmt.Errorf("no stored key with id %q", tokenKey)
	})

	cmd.AddCommand(create, list, del, secured, token)
	return cmd
}
