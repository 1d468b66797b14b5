package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyhole-search/keyhole/api"
	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/config"
	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/query"
	"github.com/keyhole-search/keyhole/ratelimit"
)

func newRootCmd(getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "keyhole",
		Short:         "keyhole: a search server where every browser credential carries its own restrictions",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetIn(stdin)
	root.AddCommand(newServeCmd(getenv, stdout, stderr))
	root.AddCommand(newImportCmd(getenv, stdout, stderr))
	root.AddCommand(newKeysCmd(getenv, stdout, stderr))
	root.AddCommand(newDemoCmd(getenv, stdout, stderr))
	return root
}

func newServeCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the search server",
		Args:  cobra.NoArgs,
	}
	config.RegisterFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := config.Load(cmd.Flags(), getenv)
		if err != nil {
			return err
		}
		return serve(cmd.Context(), cfg, stdout, stderr)
	}
	return cmd
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve opens the data dir, listens (synchronously, so "address in use" is an error) and
// serves until ctx ends, then drains in-flight requests and closes every index.
func serve(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error {
	return serveWith(ctx, cfg, stdout, stderr, extension{})
}

// extension is what `keyhole demo` adds to serve's wiring; `keyhole serve` adds nothing.
type extension struct {
	// setup, when set, runs once the indexes and keys are open, before listening; the
	// handler it returns is mounted at /demo (api.Deps.Demo).
	setup func(ctx context.Context, indexes *index.Manager, keys *auth.KeyStore) (http.Handler, error)
	// listening, when set, runs once the listener is bound.
	listening func(addr net.Addr)
}

// serveWith is serve with an extension.
func serveWith(ctx context.Context, cfg config.Config, stdout, stderr io.Writer, ext extension) error {
	logger := newLogger(cfg, stderr)
	adminKey, generated, err := config.ResolveAdminKey(cfg.DataDir, cfg.AdminKey)
	if err != nil {
		return err
	}
	if generated {
		fmt.Fprintf(stdout, "WARNING: no admin key was configured; generated one and stored it in %s (mode 0600).\n", filepath.Join(cfg.DataDir, "admin.key"))
		fmt.Fprintf(stdout, "Admin API key (shown once): %s\n", adminKey)
	}
	indexes, err := index.Open(filepath.Join(cfg.DataDir), logger)
	if err != nil {
		return fmt.Errorf("open indexes: %w", err)
	}
	defer indexes.Close()
	keys, err := auth.OpenKeyStore(filepath.Join(cfg.DataDir, "keys.db"), time.Now)
	if err != nil {
		return fmt.Errorf("open key store: %w", err)
	}
	defer keys.Close()
	var providers []auth.Provider
	for _, ip := range cfg.IdentityProviders {
		p, err := auth.NewJWKSProvider(ctx, auth.ProviderConfig{
			Name: ip.Name, Issuer: ip.Issuer, Audience: ip.Audience, Indexes: ip.Indexes,
			Filters: ip.Filters, JWKSURL: ip.JWKSURL, JWKSFile: ip.JWKSFile, Logger: logger,
		}, nil)
		if err != nil {
			return err
		}
		providers = append(providers, p)
	}
	verifier := auth.NewVerifier(auth.VerifierOptions{
		AdminKey:  adminKey,
		AppID:     cfg.AppID,
		Store:     keys,
		Now:       time.Now,
		Logger:    logger,
		Providers: providers,
	})
	var demo http.Handler
	if ext.setup != nil {
		if demo, err = ext.setup(ctx, indexes, keys); err != nil {
			return err
		}
	}
	srv := api.NewServer(api.Deps{
		Indexes:        indexes,
		Search:         query.NewService(indexes),
		Auth:           verifier,
		Keys:           keys,
		Logger:         logger,
		CORSOrigins:    cfg.CORSOrigins,
		TrustedProxies: cfg.TrustedProxies,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		Limiter:        ratelimit.New(ratelimit.Options{}),
		Demo:           demo,
	})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "keyhole listening on http://%s\n", ln.Addr())
	logger.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("data_dir", cfg.DataDir))
	if ext.listening != nil {
		ext.listening(ln.Addr())
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	srv.SetClosing()
	logger.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("shutdown did not finish cleanly", slog.String("error", err.Error()))
	}
	logger.Info("stopped")
	return nil
}

// serverURL turns a listen address into a base URL for the tools.
func serverURL(listen string) string {
	if strings.HasPrefix(listen, "http://") || strings.HasPrefix(listen, "https://") {
		return strings.TrimRight(listen, "/")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// serverUp reports whether a keyhole server answers /health at base.
func serverUp(ctx context.Context, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
