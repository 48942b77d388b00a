// Package web is the shoppers' waiting room: one HTML page with its script
// and style sheet, embedded in the binary so that the server needs no files
// beside it and the page loads nothing from any other host.
//
// The page is plain HTML, CSS and JavaScript modules, with no build step. It
// holds no inline script or style, so that it works under
// Content-Security-Policy: default-src 'self'; img-src 'self' data:.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Files is the page's files, index.html at the root: the HTTP layer serves
// index.html at / and every file at /static/<name>.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "static" is valid.
		panic(err)
	}
	return sub
}
