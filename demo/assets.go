package demo

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// AssetsEnv names the environment variable that points at a node_modules directory holding
// the page's browser builds (the --assets flag wins over it).
const AssetsEnv = "KEYHOLE_DEMO_ASSETS"

// DefaultAssetsDir is where the builds are looked for when neither --assets nor AssetsEnv is
// set, relative to the working directory: the project's e2e folder, once `npm ci` ran there.
const DefaultAssetsDir = "e2e/node_modules"

// CDN is where the page loads a build from when it is not installed locally (pinned versions).
const CDN = "https://cdn.jsdelivr.net/npm/"

// Build is one browser build the page loads: a file of an npm package.
type Build struct {
	// Name is the file's name under /demo/assets/.
	Name string
	// Package is the npm package.
	Package string
	// Version is the version the CDN URL pins.
	Version string
	// Path is the file inside the package.
	Path string
}

// Builds are the page's scripts and theme: the algoliasearch v5 lite browser UMD build
// (global "algoliasearch/lite"), the InstantSearch.js 4 production UMD build (global
// instantsearch) and InstantSearch's satellite theme.
var Builds = []Build{
	{Name: "algoliasearch-lite.umd.js", Package: "algoliasearch", Version: "5.64.0", Path: "dist/lite/builds/browser.umd.js"},
	{Name: "instantsearch.production.min.js", Package: "instantsearch.js", Version: "4.118.1", Path: "dist/instantsearch.production.min.js"},
	{Name: "satellite-min.css", Package: "instantsearch.css", Version: "8.23.0", Path: "themes/satellite-min.css"},
}

// Asset is a Build as the page gets it: from this server (File set) or from the CDN.
type Asset struct {
	Build
	// File is the local file served at /demo/assets/Name; empty when the CDN serves it.
	File string
	// LocalVersion is the version of the local package (from its package.json).
	LocalVersion string
	// URL is what the page loads.
	URL string
}

// Local reports whether this server serves the asset.
func (a Asset) Local() bool { return a.File != "" }

// AssetsDir picks the node_modules directory to look in: the flag's value, else the
// environment's, else DefaultAssetsDir.
func AssetsDir(flag, env string) string {
	switch {
	case flag != "":
		return flag
	case env != "":
		return env
	}
	return DefaultAssetsDir
}

// FindAssets resolves every Build: served from dir (a node_modules directory) when the
// package's file is there, else from the CDN at the pinned version.
func FindAssets(dir string) []Asset {
	out := make([]Asset, 0, len(Builds))
	for _, b := range Builds {
		a := Asset{Build: b, URL: CDN + b.Package + "@" + b.Version + "/" + b.Path}
		if dir != "" {
			f := filepath.Join(dir, b.Package, filepath.FromSlash(b.Path))
			if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
				a.File = f
				a.URL = "/demo/assets/" + b.Name
				a.LocalVersion = packageVersion(filepath.Join(dir, b.Package, "package.json"))
			}
		}
		out = append(out, a)
	}
	return out
}

func packageVersion(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(raw, &pkg) != nil {
		return ""
	}
	return pkg.Version
}
