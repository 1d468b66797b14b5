package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// AdminKeyFile is the name, inside the data directory, of the file holding
// the admin key when none is configured.
const AdminKeyFile = "admin.key"

// ResolveAdminKey returns the admin key to use.
//
// If configured is not empty it is returned as is. Otherwise the key is read
// from <dataDir>/admin.key; a file readable or writable by group or others
// (mode wider than 0600) is refused, since anyone who can read it controls
// every index. If the file does not exist, a new key of 32 random bytes
// (64 hex characters) is generated, the data directory is created (mode
// 0700) if needed, and the key is written with mode 0600 atomically (temporary
// file, fsync, then link or rename into place); generated is then true and the
// caller should show the key once, with a warning to store it safely. If
// another process creates the file at the same moment, its key wins and is
// returned.
func ResolveAdminKey(dataDir, configured string) (key string, generated bool, err error) {
	if configured != "" {
		return configured, false, nil
	}
	path := filepath.Join(dataDir, AdminKeyFile)
	key, err = readAdminKey(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}

	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, fmt.Errorf("config: generate admin key: %w", err)
	}
	key = hex.EncodeToString(b[:])
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("config: create data directory: %w", err)
	}
	won, err := writeNew(path, []byte(key+"\n"))
	if err != nil {
		return "", false, fmt.Errorf("config: write admin key: %w", err)
	}
	if !won {
		// Another process got there first: use its key.
		key, err = readAdminKey(path)
		return key, false, err
	}
	return key, true, nil
}

// readAdminKey reads an existing admin key file, checking its mode.
func readAdminKey(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("config: admin key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("config: admin key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("config: admin key: %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("config: admin key: %s has mode %04o, which lets other users read or change it; "+
			"refusing to use it (run chmod 600 %s)", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("config: admin key: read %s: %w", path, err)
	}
	key := strings.TrimRight(string(data), "\r\n")
	if key == "" || strings.ContainsAny(key, "\r\n") {
		return "", fmt.Errorf("config: admin key: %s must hold the key on one line", path)
	}
	return key, nil
}

// writeNew writes data to path atomically with mode 0600, unless path
// already exists, in which case it returns false.
func writeNew(path string, data []byte) (won bool, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // after a successful link or rename this is a no-op or removes the extra name
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	// A hard link never replaces an existing file, so two processes starting
	// together agree on one key. Fall back to rename where links are not
	// supported.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		if _, statErr := os.Lstat(path); statErr == nil {
			return false, nil
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return false, err
		}
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the new name durable; not all systems support it
		d.Close()
	}
	return true, nil
}
