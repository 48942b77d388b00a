package httpapi

import (
	"io/fs"
	"net/http"
)

// pageCSP allows the waiting room nothing but its own files: no inline
// script, no other host. The page is built to need no more (web/).
const pageCSP = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// page serves the waiting room: index.html at / and its files at /static/.
type page struct {
	fsys  fs.FS
	files http.Handler
}

func pageHandler(fsys fs.FS) page {
	return page{fsys: fsys, files: http.StripPrefix("/static/", http.FileServerFS(fsys))}
}

func (p page) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", pageCSP)
	http.ServeFileFS(w, r, p.fsys, "index.html")
}

func (p page) static(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", pageCSP)
	p.files.ServeHTTP(w, r)
}
