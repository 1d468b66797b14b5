package main

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/keyhole-search/keyhole"

// TestImportDirection keeps the layering of style.md: imports point one way, and each library
// is imported only by the package that owns it. (importer is the client side of the API and
// needs net/http.)
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}`, "./...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	pkgs := []string{}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, module) {
			pkgs = append(pkgs, p)
		}
	}
	forbidden := map[string][]string{
		// package (relative) -> imports it must not have (prefix match)
		"index":        {module + "/query", module + "/auth", module + "/api", module + "/config", "net/http", "github.com/gorilla/mux", "github.com/spf13/viper", "github.com/golang-jwt"},
		"query/filter": {module + "/"},
		"auth":         {module + "/query\x00", module + "/index", module + "/api", module + "/config", "net/http\x00", "github.com/gorilla/mux", "github.com/spf13/viper"},
		"query":        {module + "/api", module + "/config", "net/http\x00", "github.com/gorilla/mux", "github.com/spf13/viper", "github.com/golang-jwt"},
		"api":          {module + "/config", "github.com/spf13/viper", "github.com/golang-jwt"},
		"config":       {module + "/api", module + "/query", module + "/index", module + "/auth"},
		"demo":         {module + "/api", module + "/config", module + "/query", "github.com/spf13/viper", "github.com/gorilla/mux", "github.com/golang-jwt"},
		"importer":     {module + "/api", module + "/query", module + "/auth", "github.com/spf13/viper"},
	}
	for rel, bad := range forbidden {
		pkg := module + "/" + rel
		// Direct imports (Bleve itself pulls in net/http; what matters is who imports what).
		deps, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, d := range strings.Fields(string(deps)) {
			if d == pkg {
				continue
			}
			for _, b := range bad {
				exact := strings.HasSuffix(b, "\x00")
				b = strings.TrimSuffix(b, "\x00")
				if (exact && d == b) || (!exact && strings.HasPrefix(d, b)) {
					t.Errorf("%s depends on %s", rel, d)
				}
			}
		}
	}
	if len(pkgs) < 8 {
		t.Fatalf("go list found only %d project packages: %v", len(pkgs), pkgs)
	}
}
