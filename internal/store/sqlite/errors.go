package sqlite

import (
	"errors"
	"fmt"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// explain turns SQLite's codes into what an operator can act on.
func explain(err error) error {
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("it is not a SQLite database (%w)", err)
	case sqlite3.SQLITE_READONLY:
		return fmt.Errorf("it cannot be written: flashsale needs a writable file in a writable folder (%w)", err)
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("the disk is full (%w)", err)
	case sqlite3.SQLITE_CANTOPEN:
		return fmt.Errorf("it cannot be opened or created (%w)", err)
	case sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("it is damaged (%w)", err)
	}
	return err
}
