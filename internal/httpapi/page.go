package httpapi

import (
	"io/fs"
	"net/http"
	"strings"
)

// pageCSP allows the waiting room nothing but its own files: no inline
// script, no other host. The page is built to need no more (web/).
const pageCSP = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// page serves the waiting room: index.html at / and its files at
// /static/{name}. A name that is no file (a folder included: there is no
// listing) is a 404 problem, as every other unknown path is.
type page struct{ files fs.FS }

func (p page) index(w http.ResponseWriter, r *http.Request) { p.serve(w, r, "index.html") }

func (p page) static(w http.ResponseWriter, r *http.Request) {
	p.serve(w, r, strings.TrimPrefix(r.URL.Path, "/static/"))
}

func (p page) serve(w http.ResponseWriter, r *http.Request, name string) {
	if info, err := fs.Stat(p.files, name); err != nil || info.IsDir() {
		writeProblem(w, problem(probNotFound, "no file "+r.URL.Path))
		return
	}
	w.Header().Set("Content-Security-Policy", pageCSP)
	http.ServeFileFS(w, r, p.files, name)
}
