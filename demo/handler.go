package demo

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
)

//go:embed web
var web embed.FS

var page = template.Must(template.ParseFS(web, "web/index.html"))

// Handler serves the demo: the page at /demo, its configuration (the demo keys) at
// /demo/config.json, its script and style, and the local browser builds at /demo/assets/.
// Everything it serves is public: mount it only in demo mode.
func Handler(s *Setup, assets []Asset) http.Handler {
	cfg, err := json.Marshal(s)
	if err != nil {
		panic("demo: setup does not encode: " + err.Error())
	}
	var html bytes.Buffer
	if err := page.Execute(&html, pageData{Setup: s, Assets: assets}); err != nil {
		panic("demo: page template: " + err.Error())
	}
	files := map[string]string{}
	for _, a := range assets {
		if a.Local() {
			files["/demo/assets/"+a.Name] = a.File
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		switch p := r.URL.Path; {
		case p == "/demo" || p == "/demo/":
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-store")
			h.Set("Content-Security-Policy", csp)
			_, _ = w.Write(html.Bytes())
		case p == "/demo/config.json":
			h.Set("Content-Type", "application/json; charset=utf-8")
			h.Set("Cache-Control", "no-store")
			_, _ = w.Write(cfg)
		case p == "/demo/app.js" || p == "/demo/demo.css":
			http.ServeFileFS(w, r, web, "web/"+strings.TrimPrefix(p, "/demo/"))
		case files[p] != "":
			// Only the listed builds, never the rest of the directory.
			h.Set("Cache-Control", "public, max-age=3600")
			http.ServeFile(w, r, files[p])
		default:
			http.NotFound(w, r)
		}
	})
}

// csp lets the page run its own script and the builds (from here or the CDN) and talk only
// to this server.
const csp = "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net; " +
	"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type pageData struct {
	*Setup
	Assets []Asset
}

// Scripts are the JS builds, in load order.
func (d pageData) Scripts() []Asset { return d.filter(".js") }

// Styles are the CSS builds.
func (d pageData) Styles() []Asset { return d.filter(".css") }

func (d pageData) filter(suffix string) []Asset {
	var out []Asset
	for _, a := range d.Assets {
		if strings.HasSuffix(a.Name, suffix) {
			out = append(out, a)
		}
	}
	return out
}
