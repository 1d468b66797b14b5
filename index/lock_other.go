//go:build !unix

package index

// lockDir is a no-op where flock is not available; bolt_timeout still keeps a second open of
// the same index from blocking forever.
func lockDir(string) (func() error, error) { return func() error { return nil }, nil }
