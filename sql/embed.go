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

// ReliableDriversSQLite answers the question for September 2024 in SQLite.
//
//go:embed reliable_drivers.sqlite.sql
var ReliableDriversSQLite string

// ReliableDriversPostgres answers the question for September 2024 in
// PostgreSQL. The two differ only in how they name the month: no expression
// for it is both valid in SQLite and indexable in PostgreSQL.
//
//go:embed reliable_drivers.postgres.sql
var ReliableDriversPostgres string
