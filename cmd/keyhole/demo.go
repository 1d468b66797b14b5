package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/config"
	"github.com/keyhole-search/keyhole/demo"
	"github.com/keyhole-search/keyhole/index"
)

func newDemoCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run keyhole with a sample catalogue and a page showing two tenants side by side",
		Long: `Run a real keyhole server with zero configuration: it loads a synthetic catalogue of three
shops into the index ` + demo.IndexName + `, creates a search-only key, mints a secured key for each of two
tenants (filters team:acme / team:globex, valid 24 h) and a user token (sub maya), and serves a page
at /demo where InstantSearch.js searches this server with them side by side.

The page and its keys are public: that is the point of the demo, and only this command serves them.

The page loads algoliasearch 5.64.0 (lite browser UMD build) and InstantSearch.js 4 (production UMD
build) plus the instantsearch.css satellite theme. keyhole serves them itself from a node_modules
directory: --assets DIR, else $` + demo.AssetsEnv + `, else ./` + demo.DefaultAssetsDir + ` (relative to
the working directory). A build not found there is loaded from the jsDelivr CDN at a pinned version.`,
		Args: cobra.NoArgs,
	}
	listen := cmd.Flags().String("listen", "127.0.0.1:7700", "host:port to listen on (:0 picks a free port)")
	dataDir := cmd.Flags().String("data-dir", "", "data directory (default: a fresh temporary directory, removed on exit)")
	assets := cmd.Flags().String("assets", "", "node_modules directory holding algoliasearch, instantsearch.js and instantsearch.css (default $"+demo.AssetsEnv+", else ./"+demo.DefaultAssetsDir+")")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return runDemo(cmd.Context(), *listen, *dataDir, demo.AssetsDir(*assets, getenv(demo.AssetsEnv)), stdout, stderr)
	}
	return cmd
}

// runDemo serves the demo until ctx ends, then removes the data dir when it made it.
func runDemo(ctx context.Context, listen, dataDir, assetsDir string, stdout, stderr io.Writer) error {
	if dataDir == "" {
		tmp, err := os.MkdirTemp("", "keyhole-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dataDir = tmp
	}
	// An admin key that lives only in this process: the demo never needs it.
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	cfg := config.Default()
	cfg.Listen = listen
	cfg.DataDir = dataDir
	cfg.AdminKey = hex.EncodeToString(b[:])
	cfg.LogLevel = "warn"
	cfg.ShutdownTimeout = 5 * time.Second

	assets := demo.FindAssets(assetsDir)
	err := serveWith(ctx, cfg, stdout, stderr, extension{
		setup: func(ctx context.Context, indexes *index.Manager, keys *auth.KeyStore) (http.Handler, error) {
			setup, err := demo.Load(ctx, indexes, keys, time.Now())
			if err != nil {
				return nil, err
			}
			printDemo(stdout, setup, assets)
			return demo.Handler(setup, assets), nil
		},
		listening: func(addr net.Addr) {
			fmt.Fprintf(stdout, "keyhole demo: open %s/demo\n", serverURL(addr.String()))
		},
	})
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // interrupted while loading: a normal stop
	}
	return err
}

// printDemo tells what the demo set up. The keys it prints are the demo's own, public on the
// page anyway.
func printDemo(w io.Writer, s *demo.Setup, assets []demo.Asset) {
	total := 0
	for _, n := range s.Records {
		total += n
	}
	fmt.Fprintf(w, "keyhole demo: loaded %d sample records into %s (", total, s.IndexName)
	for i, t := range []string{"acme", "globex", "initech"} {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "%s %d", t, s.Records[t])
	}
	fmt.Fprintln(w, ")")
	fmt.Fprintln(w, "Demo keys (search-only, public on the demo page, valid 24 h):")
	for _, t := range s.Tenants {
		fmt.Fprintf(w, "  %s (filters %s): %s\n", t.ID, t.Filters, t.SecuredKey)
	}
	fmt.Fprintf(w, "  user token (sub %s): %s\n", s.User.Subject, s.User.Token)
	fmt.Fprintln(w, "Page scripts:")
	for _, a := range assets {
		if a.Local() {
			fmt.Fprintf(w, "  %s %s: served from %s\n", a.Package, a.LocalVersion, a.File)
		} else {
			fmt.Fprintf(w, "  %s %s: from %s\n", a.Package, a.Version, a.URL)
		}
	}
}
