// Package sqlfiles embeds the SQL under sql/, so that the files a person runs
// in the sqlite3 shell or in psql are the very text the Go code runs.
package sqlfiles

import _ "embed"

// SchemaSQLite creates the deliveries table and its index in SQLite.
//
//go:embed schema.sqlite.sql
var SchemaSQLite string

// SchemaPostgres creates the deliveries table and its index in PostgreSQL.
//
//go:embed schema.postgres.sql
var SchemaPostgres string

// ReliableDrivers answers the question for September 2024 in both dialects.
//
//go:embed reliable_drivers.sql
var ReliableDrivers string
