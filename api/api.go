// Package api holds the OpenAPI document, the source of truth for the HTTP
// interface. The code in ../generated is made from it by `make generate`.
package api

import _ "embed"

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config server.cfg.yaml openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config client.cfg.yaml openapi.yaml

// Spec is openapi.yaml as written, comments and all, served at /openapi.yaml.
//
//go:embed openapi.yaml
var Spec []byte
