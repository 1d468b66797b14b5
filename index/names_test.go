package index

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		want string // "" = valid
	}{
		{"products", ""},
		{"%2F", ""},
		{"商品-index_1.v2", ""},
		{"a b", ""},
		{strings.Repeat("x", 100), ""},
		{strings.Repeat("x", 101), "at most 100 bytes"},
		{strings.Repeat("é", 51), "at most 100 bytes"},
		{"", "must not be empty"},
		{".", `must not be "."`},
		{"..", `must not be ".."`},
		{"a/b", "'/'"},
		{`a\b`, "'/'"},
		{"*all", "must not contain '*'"},
		{"dev_*", "must not contain '*'"},
		{"a\x00b", "control"},
		{"tab\t", "control"},
		{"\xff\xfe", "UTF-8"},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if tt.want == "" {
			if err != nil {
				t.Errorf("ValidateName(%q) = %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName containing %q", tt.name, err, tt.want)
		}
	}
}

func TestNamesMapToSafeDistinctDirectories(t *testing.T) {
	dataDir := t.TempDir()
	m, _ := MustOpen(t, dataDir)
	for _, bad := range []string{"..", "a/b", "../escape", "*"} {
		if _, err := m.GetOrCreate(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("GetOrCreate(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
	names := []string{"%2F", "Products", "products", "商品", "..x", "-"}
	for i, n := range names {
		ix := MustIndex(t, m, n)
		MustWrite(t, ix, add(`{"objectID":"`+strings.Repeat("r", i+1)+`"}`))
	}
	// Each index holds only its own record: Products and products are distinct.
	for i, n := range names {
		ix, err := m.Get(n)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := ix.DocCount(); c != 1 || MustSource(t, ix, strings.Repeat("r", i+1)) == nil {
			t.Errorf("index %q: %d records, own record present: %v", n, c, MustSource(t, ix, strings.Repeat("r", i+1)) != nil)
		}
	}
	// Nothing was created outside <dataDir>/indexes, and every index dir is lowercase hex.
	top, _ := os.ReadDir(dataDir)
	if len(top) != 1 || top[0].Name() != "indexes" {
		t.Errorf("data dir holds %v", top)
	}
	entries, _ := os.ReadDir(filepath.Join(dataDir, "indexes"))
	var dirs []string
	for _, e := range entries {
		if e.Name() == lockName {
			continue
		}
		dirs = append(dirs, e.Name())
		if strings.Trim(e.Name(), "0123456789abcdef") != "" {
			t.Errorf("directory %q is not lowercase hex", e.Name())
		}
	}
	if len(dirs) != len(names) {
		t.Errorf("dirs = %v, want %d", dirs, len(names))
	}
	if !slices.Contains(dirs, "253246") {
		t.Errorf(`"%%2F" is not in directory 253246: %v`, dirs)
	}
	// Reopen finds the same names.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2, _ := MustOpen(t, dataDir)
	var got []string
	for _, inf := range m2.List() {
		got = append(got, inf.Name)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after reopen List = %q, want %q", got, want)
	}
}
