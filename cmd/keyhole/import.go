package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhole-search/keyhole/config"
	"github.com/keyhole-search/keyhole/importer"
	"github.com/keyhole-search/keyhole/index"
)

func newImportCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var indexName, server, format string
	var batchSize int
	cmd := &cobra.Command{
		Use:   "import --index NAME FILE",
		Short: "Import records from a JSON array, NDJSON or CSV file",
		Long: "Import sends batches to a running server (found at --server, or the configured listen\n" +
			"address) and waits until each is searchable. When no server answers, it writes the data\n" +
			"dir directly. Rejected records are reported by line number; the import goes on.",
		Args: cobra.ExactArgs(1),
	}
	config.RegisterFlags(cmd.Flags())
	cmd.Flags().StringVar(&indexName, "index", "", "index to import into (required)")
	cmd.Flags().StringVar(&server, "server", "", "base URL of a running keyhole (default: from --listen)")
	cmd.Flags().StringVar(&format, "format", "auto", "input format: auto, json, ndjson or csv")
	cmd.Flags().IntVar(&batchSize, "batch-size", importer.DefaultBatchSize, "records per batch")
	_ = cmd.MarkFlagRequired("index")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := config.Load(cmd.Flags(), getenv)
		if err != nil {
			return err
		}
		if err := index.ValidateName(indexName); err != nil {
			return err
		}
		fmtv, err := importer.ParseFormat(format)
		if err != nil {
			return err
		}
		if fmtv == importer.FormatAuto {
			fmtv = importer.FormatFromPath(args[0])
		}
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		if server == "" {
			server = serverURL(cfg.Listen)
		}
		ctx := cmd.Context()
		var sink importer.Sink
		if serverUp(ctx, server) {
			key, err := existingAdminKey(cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "importing into %s through %s\n", indexName, server)
			sink = &importer.HTTPSink{BaseURL: server, Index: indexName, APIKey: key, AppID: cfg.AppID}
		} else {
			m, err := index.Open(cfg.DataDir, newLogger(cfg, stderr))
			if err != nil {
				return fmt.Errorf("no server answers at %s, and the data dir cannot be opened: %w", server, err)
			}
			defer m.Close()
			ix, err := m.GetOrCreate(indexName)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "no server at %s: writing %s directly into %s\n", server, indexName, cfg.DataDir)
			sink = directSink{ix: ix}
		}
		return runImport(ctx, f, fmtv, sink, batchSize, stdout, stderr)
	}
	return cmd
}

func runImport(ctx context.Context, r io.Reader, format importer.Format, sink importer.Sink, batchSize int, stdout, stderr io.Writer) error {
	progress := importer.NewProgress(stderr, isTerminal(stderr), importer.DefaultProgressInterval)
	b := &importer.Batcher{Sink: sink, Size: batchSize, OnSent: progress.AddSent}
	rd := importer.Reader{Format: format, OnReject: func(importer.Rejection) { progress.AddRejected(1) }}
	stats, err := rd.Read(r, func(rec importer.Record) error { return b.Add(ctx, rec) })
	if err == nil {
		err = b.Flush(ctx)
	}
	progress.Finish()
	for _, rj := range stats.Rejected {
		fmt.Fprintf(stdout, "rejected line %d: %s\n", rj.Line, rj.Reason)
	}
	if stats.RejectedCount > len(stats.Rejected) {
		fmt.Fprintf(stdout, "... and %d more rejected records\n", stats.RejectedCount-len(stats.Rejected))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d records, rejected %d\n", b.Sent(), stats.RejectedCount)
	return nil
}

// directSink writes batches straight into an index when no server is running.
type directSink struct{ ix *index.Index }

func (d directSink) Send(ctx context.Context, records []map[string]any) error {
	ops := make([]index.Op, 0, len(records))
	for _, rec := range records {
		op := index.Op{Action: index.ActionAddObject, Body: rec}
		if id, ok := rec["objectID"].(string); ok && id != "" {
			op.Action, op.ObjectID = index.ActionUpdateObject, id
		}
		ops = append(ops, op)
	}
	_, _, err := d.ix.Write(ctx, ops)
	return err
}

// existingAdminKey returns the configured admin key, or the one a server generated in the
// data dir; it never generates one (that would not match the running server's).
func existingAdminKey(cfg config.Config) (string, error) {
	if cfg.AdminKey != "" {
		return cfg.AdminKey, nil
	}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, config.AdminKeyFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("no admin key: set --admin-key, KEYHOLE_ADMIN_KEY or --admin-key-file")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
