// Command bench is keyhole's benchmark harness. One command builds keyhole, loads a shared
// data set, runs keyhole and the baselines in the same run (raw Bleve batches in-process, an
// index holding only one tenant's records, a plain net/http server answering the same bytes
// from memory), drives HTTP with vegeta (`go tool vegeta`, pinned in go.mod) and prints the
// ratio of each of the five performance targets of BENCHMARKS.md:
//
//	go run ./bench                          # everything, on ../shared/data/geonames-cities.ndjson
//	go run ./bench -only 1,2 -rounds 9      # some targets
//	go run ./bench -records 20000           # a quicker run on the first records of the file
//
// It can also drive any other HTTP search endpoint with a request file, to compare peers
// (every line a JSON object {"method", "url", "header": {name: [values]}, "body": "..."};
// the body is text, not base64):
//
//	go run ./bench -drive -requests reqs.ndjson -duration 10s -conns 10
//
// Everything runs on the loopback interface and stops by itself. Figures are medians of
// interleaved rounds; the machines are shared and noisy, so read the ratios, which are
// measured in one run on the same data with the same queries.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"
)

type options struct {
	data       string
	tenantAttr string
	records    int
	rounds     int
	duration   time.Duration
	conns      int
	only       map[int]bool
	keyholeBin string
	keep       bool
	batch      int
	partition  bool
	// sharedShards and ownShardMin are the partitioned index's tenantShards and
	// tenantOwnShardMin settings.
	sharedShards int
	ownShardMin  int
	senders      int
	// drive mode
	drive    bool
	requests string
	// floor mode (internal: the net/http floor runs as a child process)
	floor string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var only string
	fs.StringVar(&o.data, "data", "../shared/data/geonames-cities.ndjson", "NDJSON data set (records get objectID = line number)")
	fs.StringVar(&o.tenantAttr, "tenant-attribute", "country", "the data set's tenant field")
	fs.IntVar(&o.records, "records", 0, "use only the first N records (0: all)")
	fs.IntVar(&o.rounds, "rounds", 7, "interleaved rounds per in-process measurement (medians are reported)")
	fs.DurationVar(&o.duration, "duration", 8*time.Second, "length of each HTTP load round")
	fs.IntVar(&o.conns, "conns", 10, "concurrent connections of the HTTP load")
	fs.StringVar(&only, "only", "1,2,3,4,5", "targets to run (comma-separated numbers)")
	fs.StringVar(&o.keyholeBin, "keyhole-bin", "", "a built keyhole binary (default: go build ./cmd/keyhole)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	fs.IntVar(&o.batch, "batch", 1000, "records per ingest batch (raw Bleve and API)")
	fs.BoolVar(&o.partition, "partition", true, "partition bench_part by the tenant attribute (false: measure the same indexes unpartitioned)")
	fs.IntVar(&o.sharedShards, "tenant-shards", 16, "tenantShards of the partitioned index (shared shards of the small tenants)")
	fs.IntVar(&o.ownShardMin, "own-shard-min", 1000, "tenantOwnShardMin of the partitioned index (records from which a tenant gets its own shard)")
	fs.IntVar(&o.senders, "senders", 4, "concurrent batch requests during API ingest")
	fs.BoolVar(&o.drive, "drive", false, "only drive -requests against its URLs and print throughput and latency")
	fs.StringVar(&o.requests, "requests", "", "request file for -drive")
	fs.StringVar(&o.floor, "floor", "", "internal: serve the recorded responses of this file (the net/http floor)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.floor != "" {
		if err := serveFloor(ctx, o.floor, stdout); err != nil {
			fmt.Fprintln(stderr, "bench floor:", err)
			return 1
		}
		return 0
	}
	if o.drive {
		if err := driveFile(ctx, o, stdout); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		return 0
	}
	o.only = map[int]bool{}
	for _, f := range strings.Split(only, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 5 {
			fmt.Fprintf(stderr, "bench: -only %q: want numbers 1 to 5\n", only)
			return 2
		}
		o.only[n] = true
	}
	rep, err := benchAll(ctx, o, stderr)
	if rep != nil {
		rep.print(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}
