package sqlite

import (
	"errors"
	"fmt"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// explain turns SQLite's codes into what an operator can act on. The text
// replaces SQLite's own ("file is not a database (26)"), which names a code
// but not a cause or a remedy; the SQLite error stays in the chain for
// errors.As and errors.Is.
func explain(err error) error {
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	var msg string
	switch code := se.Code(); {
	case code == sqlite3.SQLITE_IOERR_SHMSIZE || code == sqlite3.SQLITE_IOERR_SHMMAP:
		// SQLite grows the -shm file by writing to it, so a full disk
		// shows up here when nothing else needs writing yet.
		msg = "the disk it is on is probably full: its shared-memory file (-shm, beside it) cannot be grown"
	case code&0xff == sqlite3.SQLITE_NOTADB:
		msg = msgNotSQLite
	case code&0xff == sqlite3.SQLITE_READONLY:
		msg = "it cannot be written (a read-only file or file system): flashsale needs a writable file in a writable folder"
	case code&0xff == sqlite3.SQLITE_FULL:
		msg = "the disk it is on is full"
	case code&0xff == sqlite3.SQLITE_CANTOPEN:
		msg = "it cannot be opened or created: its folder must exist and be writable, and it must be a file flashsale may read and write"
	case code&0xff == sqlite3.SQLITE_CORRUPT:
		msg = "it is damaged (SQLite found its content inconsistent): restore it from a backup"
	case code&0xff == sqlite3.SQLITE_BUSY:
		msg = "another program is writing to it (it stayed locked)"
	case code&0xff == sqlite3.SQLITE_IOERR:
		msg = fmt.Sprintf("reading or writing it failed (SQLite I/O error %d): the disk may be full, failing or gone", code)
	default:
		return err
	}
	return &explained{msg: msg, err: err}
}

const msgNotSQLite = "it is not a SQLite database (another kind of file, or a damaged one): give flashsale a new path or one of its own databases"

// explained is an error whose text is written for an operator.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }
