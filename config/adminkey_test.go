package config

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveAdminKeyConfigured(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	key, generated, err := ResolveAdminKey(dir, "given")
	if err != nil || key != "given" || generated {
		t.Fatalf("got %q, %v, %v", key, generated, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data dir created for a configured key: %v", err)
	}
}

func TestResolveAdminKeyGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	key, generated, err := ResolveAdminKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !generated {
		t.Error("generated = false on first call")
	}
	if b, err := hex.DecodeString(key); err != nil || len(b) != 32 {
		t.Errorf("key %q is not 64 hex characters", key)
	}

	st, err := os.Stat(filepath.Join(dir, AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("admin.key mode = %04o, want 0600", perm)
	}
	dst, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := dst.Mode().Perm(); perm != 0o700 {
		t.Errorf("data dir mode = %04o, want 0700", perm)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only admin.key (temp file left behind?)", len(entries))
	}

	again, generated, err := ResolveAdminKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if generated || again != key {
		t.Errorf("second call: key %q generated %v, want %q false", again, generated, key)
	}

	other, _, err := ResolveAdminKey(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if other == key {
		t.Error("two data dirs got the same key")
	}
}

func TestResolveAdminKeyExistingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, AdminKeyFile)
	if err := os.WriteFile(path, []byte("handmade-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, generated, err := ResolveAdminKey(dir, "")
	if err != nil || key != "handmade-key" || generated {
		t.Fatalf("got %q, %v, %v", key, generated, err)
	}

	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := ResolveAdminKey(dir, "")
		if err == nil || !strings.Contains(err.Error(), "mode") || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: err = %v, want a refusal naming the mode", mode, err)
		}
		if err != nil && strings.Contains(err.Error(), "handmade-key") {
			t.Errorf("error leaks the key: %v", err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if key, _, err := ResolveAdminKey(dir, ""); err != nil || key != "handmade-key" {
		t.Errorf("mode 0400: got %q, %v", key, err)
	}
}

func TestResolveAdminKeyBadFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, AdminKeyFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ResolveAdminKey(dir, ""); err == nil {
		t.Error("admin.key as a directory: no error")
	}

	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, AdminKeyFile), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ResolveAdminKey(dir, ""); err == nil {
		t.Error("empty admin.key: no error")
	}
}

func TestResolveAdminKeyLostRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, AdminKeyFile)
	if err := os.WriteFile(path, []byte("winner\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	won, err := writeNew(path, []byte("loser\n"))
	if err != nil || won {
		t.Fatalf("writeNew over an existing file: won %v, err %v", won, err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "winner\n" {
		t.Errorf("existing key replaced: %q", data)
	}
}
