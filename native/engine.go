// Engines, sessions and statements on top of Dolt's embedded driver; the cgo
// layer in exports.go only translates handles and C memory to and from these.
package main

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	neturl "net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/cenkalti/backoff/v4"
	"github.com/dolthub/dolt/go/store/nbs"
	embedded "github.com/dolthub/driver/v2"
	gms "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/go-sql-driver/mysql"
)

// Library error codes; keep in step with DOLT_ERR_* in libdolt.h.
const (
	errInternal   = -1
	errBadHandle  = -2
	errCanceled   = -3
	errLocked     = -4
	errNotDolt    = -5
	errNoDatabase = -6
	errBadParams  = -7
)

const (
	openCreate     = 1
	openReadOnlyOK = 2
)

// libError is what every failing call reports: a code (MySQL's, or ours) and a message.
type libError struct {
	code     int
	sqlstate string
	msg      string
}

func (e *libError) Error() string { return e.msg }

func newErr(code int, format string, args ...any) *libError {
	return &libError{code: code, sqlstate: "HY000", msg: fmt.Sprintf(format, args...)}
}

// asLibError keeps MySQL's number and SQLSTATE where the driver reports them.
func asLibError(err error) *libError {
	var le *libError
	if errors.As(err, &le) {
		return le
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		state := string(me.SQLState[:])
		if me.SQLState == [5]byte{} {
			state = "HY000"
			if e := gms.CastSQLError(errors.New(me.Message)); e != nil && e.Num == int(me.Number) {
				state = e.State
			}
		}
		return &libError{code: int(me.Number), sqlstate: state, msg: me.Message}
	}
	if e := gms.CastSQLError(err); e != nil {
		return &libError{code: e.Num, sqlstate: e.State, msg: e.Message}
	}
	return &libError{code: errInternal, sqlstate: "HY000", msg: err.Error()}
}

// engine is one directory of Dolt databases, shared by every handle that opened it.
type engine struct {
	dir       string
	connector *embedded.Connector
	readOnly  bool
	refs      int
}

var (
	enginesMu sync.Mutex
	engines   = map[string]*engine{}
)

func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// hasDoltDatabase says whether dir is a Dolt database or holds one, as the engine would load it.
func hasDoltDatabase(dir string) (bool, []string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, nil, err
	}
	var names []string
	found := false
	for _, e := range entries {
		names = append(names, e.Name())
		if e.Name() == ".dolt" && e.IsDir() {
			found = true
		}
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			if st, err := os.Stat(filepath.Join(dir, e.Name(), ".dolt")); err == nil && st.IsDir() {
				found = true
			}
		}
	}
	return found, names, nil
}

func openEngine(dir, database, name, email string, flags uint32) (*engine, error) {
	if dir == "" {
		return nil, newErr(errNotDolt, "no directory given")
	}
	if database == "" {
		return nil, newErr(errNoDatabase, "no database given: name one with ?database=NAME")
	}
	if strings.Contains(database, "/") {
		return nil, newErr(errNoDatabase, "the default database %q must be a plain name, not a revision database", database)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, newErr(errNotDolt, "bad directory %q: %v", dir, err)
	}
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e, ok := engines[abs]; ok {
		if err := e.ensureDatabase(database, flags&openCreate != 0); err != nil {
			return nil, err
		}
		e.refs++
		return e, nil
	}

	mayCreate := flags&openCreate != 0
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, newErr(errNotDolt, "cannot create directory %s: %v", abs, err)
		}
		mayCreate = true
	case err != nil:
		return nil, newErr(errNotDolt, "cannot open %s: %v", abs, err)
	case !st.IsDir():
		return nil, newErr(errNotDolt, "%s is a file, not a directory of Dolt databases", abs)
	default:
		found, names, err := hasDoltDatabase(abs)
		if err != nil {
			return nil, newErr(errNotDolt, "cannot read %s: %v", abs, err)
		}
		if len(names) == 0 {
			mayCreate = true
		} else if !found && !mayCreate {
			return nil, newErr(errNotDolt,
				"%s is not a Dolt directory: it is not empty and holds no Dolt database "+
					"(no .dolt folder in it or in a subdirectory); point at an empty or "+
					"missing directory to create database %q there", abs, database)
		}
	}

	e, err := startEngine(abs, name, email, flags)
	if err != nil {
		return nil, err
	}
	if err := e.ensureDatabase(database, mayCreate); err != nil {
		_ = e.connector.Close()
		return nil, err
	}
	e.refs = 1
	engines[abs] = e
	return e, nil
}

// startEngine opens the engine and fails fast on a directory another process holds:
// Dolt's own behaviour, opening read-only after a 100 ms lock timeout, would turn
// every later write into a puzzling error.
func startEngine(abs, name, email string, flags uint32) (*engine, error) {
	dsn, err := doltDSN(abs, name, email)
	if err != nil {
		return nil, err
	}
	cfg, err := embedded.ParseDSN(dsn)
	if err != nil {
		return nil, newErr(errNotDolt, "%v", err)
	}
	// One statement per call: the proxy splits scripts itself, and the
	// driver's multi-statement rows hide the row counts of writes.
	cfg.MultiStatements = false
	// UPDATE counts the rows it matched, as PostgreSQL does (and as the
	// dolt+mysql:// backend asks the server with CLIENT_FOUND_ROWS).
	cfg.ClientFoundRows = true
	// Sessions pick their database with USE, so the connector has none.
	cfg.Database = ""
	// A non-nil BackOff makes the driver ask Dolt to fail on a lock timeout;
	// StopBackOff then makes that the one and only attempt.
	cfg.BackOff = &backoff.StopBackOff{}

	connector, err := embedded.NewConnector(cfg)
	if err != nil {
		return nil, newErr(errNotDolt, "%v", err)
	}
	e := &engine{dir: abs, connector: connector}
	conn, err := connector.Connect(context.Background())
	if err != nil && errors.Is(err, nbs.ErrDatabaseLocked) {
		_ = connector.Close()
		if flags&openReadOnlyOK == 0 {
			return nil, newErr(errLocked,
				"%s is locked by another Dolt process (is a `dolt sql-server` running on it?); "+
					"Dolt would open it read-only. Stop that process, reach the server through "+
					"the dolt+mysql:// backend instead, or allow a read-only open (readonly=true)", abs)
		}
		cfg.BackOff = nil
		connector, err = embedded.NewConnector(cfg)
		if err != nil {
			return nil, newErr(errNotDolt, "%v", err)
		}
		e = &engine{dir: abs, connector: connector, readOnly: true}
		conn, err = connector.Connect(context.Background())
	}
	if err != nil {
		_ = connector.Close()
		le := asLibError(err)
		le.msg = fmt.Sprintf("cannot open Dolt directory %s: %s", abs, le.msg)
		return nil, le
	}
	_ = conn.Close()
	return e, nil
}

// doltDSN is the driver's DSN. The driver takes the directory verbatim (no
// unescaping), so a '?' in it cannot be expressed and is refused.
func doltDSN(dir, name, email string) (string, error) {
	if strings.Contains(dir, "?") {
		return "", newErr(errNotDolt, "directory %q contains '?', which a Dolt DSN cannot carry", dir)
	}
	q := neturl.Values{}
	q.Set("commitname", name)
	q.Set("commitemail", email)
	q.Set("multistatements", "true")
	return "file://" + dir + "?" + q.Encode(), nil
}

func (e *engine) ensureDatabase(database string, mayCreate bool) error {
	conn, err := e.connector.Connect(context.Background())
	if err != nil {
		return asLibError(err)
	}
	defer conn.Close()
	exists, err := databaseExists(conn, database)
	if err != nil {
		return err
	}
	if exists {
		return nil
	}
	if !mayCreate {
		return newErr(errNoDatabase,
			"database %q does not exist in %s (create it with CREATE DATABASE, or open an empty directory)",
			database, e.dir)
	}
	if e.readOnly {
		return newErr(errNoDatabase, "database %q does not exist in %s, which is open read-only", database, e.dir)
	}
	return execAll(conn, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(database))
}

func databaseExists(conn driver.Conn, database string) (bool, error) {
	rows, err := conn.(driver.QueryerContext).QueryContext(context.Background(),
		"SELECT 1 FROM information_schema.schemata WHERE schema_name = ?",
		[]driver.NamedValue{{Ordinal: 1, Value: database}})
	if err != nil {
		return false, asLibError(err)
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	err = rows.Next(dest)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, asLibError(err)
	}
	return true, nil
}

func execAll(conn driver.Conn, query string) error {
	return execArgs(conn, query)
}

func execArgs(conn driver.Conn, query string, args ...any) error {
	var nv []driver.NamedValue
	for i, a := range args {
		nv = append(nv, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	rows, err := conn.(driver.QueryerContext).QueryContext(context.Background(), query, nv)
	if err != nil {
		return asLibError(err)
	}
	dest := make([]driver.Value, len(rows.Columns()))
	for {
		if err := rows.Next(dest); err != nil {
			if err != io.EOF {
				_ = rows.Close()
				return asLibError(err)
			}
			break
		}
	}
	if err := rows.Close(); err != nil {
		return asLibError(err)
	}
	return nil
}

func (e *engine) release() error {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	e.refs--
	if e.refs > 0 {
		return nil
	}
	delete(engines, e.dir)
	if err := e.connector.Close(); err != nil {
		return asLibError(err)
	}
	return nil
}

// session is one Dolt SQL session: a driver connection of its own.
type session struct {
	eng    *engine
	conn   driver.Conn
	gmsCtx *gms.Context // the driver's session context, for transaction state

	mu       sync.Mutex // guards cancel and canceled: dolt_cancel comes from other threads
	cancel   context.CancelFunc
	canceled bool

	stmt *stmt
}

// driverSessionContext reaches the *gms.Context inside the driver's DoltConn.
// The driver does not export it, and the session's transaction state lives
// there; a Go test pins this to the driver version in go.mod.
func driverSessionContext(conn driver.Conn) *gms.Context {
	v := reflect.ValueOf(conn)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("gmsCtx")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*gms.Context]() {
		return nil
	}
	return (*gms.Context)(unsafe.Pointer(f.Pointer()))
}

// openSession gives the session its own database and commit identity. The
// identity goes into Dolt's author/committer session variables because the
// driver's sessions all log in as "root", which DOLT_COMMIT would otherwise
// record as the committer, whatever the DSN's commitname says.
func (e *engine) openSession(database, name, email string) (*session, error) {
	conn, err := e.connector.Connect(context.Background())
	if err != nil {
		return nil, asLibError(err)
	}
	s := &session{eng: e, conn: conn, gmsCtx: driverSessionContext(conn)}
	if err := execAll(conn, "USE "+quoteIdent(database)); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if err := execArgs(conn,
		"SET @@SESSION.dolt_author_name = ?, @@SESSION.dolt_author_email = ?, "+
			"@@SESSION.dolt_committer_name = ?, @@SESSION.dolt_committer_email = ?",
		name, email, name, email); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return s, nil
}

func (s *session) close() {
	if s.stmt != nil {
		s.stmt.close()
	}
	if s.gmsCtx != nil && s.gmsCtx.GetTransaction() != nil {
		_ = execAll(s.conn, "ROLLBACK")
	}
	_ = s.conn.Close()
}

func (s *session) inTransaction() int {
	if s.gmsCtx == nil {
		return -1
	}
	if s.gmsCtx.GetTransaction() != nil {
		return 1
	}
	return 0
}

// interrupt cancels the running statement's context; safe from any thread.
func (s *session) interrupt() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		return 0
	}
	s.canceled = true
	s.cancel()
	return 1
}

func (s *session) wasCanceled(err error) error {
	s.mu.Lock()
	c := s.canceled
	s.mu.Unlock()
	if c || errors.Is(err, context.Canceled) {
		return newErr(errCanceled, "canceling statement due to user request")
	}
	return asLibError(err)
}

// stmt is one statement's result.
type stmt struct {
	sess     *session
	rows     driver.Rows
	cols     []column
	colBuf   []byte
	dest     []driver.Value
	done     bool
	affected int64
	lastID   uint64
	enc      batchEncoder
}

func (s *session) query(query string, args []driver.NamedValue) (*stmt, error) {
	if s.stmt != nil {
		s.stmt.close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.cancel, s.canceled = cancel, false
	s.mu.Unlock()

	rows, err := s.conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	if err != nil {
		err = s.wasCanceled(err)
		s.endStatement()
		return nil, err
	}
	st := &stmt{sess: s, rows: rows, affected: -1}
	names := rows.Columns()
	if len(names) == 0 || (len(names) == 1 && names[0] == types.OkResultColumnName) {
		if err := st.drainOK(len(names)); err != nil {
			return nil, err
		}
		return st, nil
	}
	typed, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
	st.cols = make([]column, len(names))
	for i, n := range names {
		tn := ""
		if typed != nil {
			tn = typed.ColumnTypeDatabaseTypeName(i)
		}
		st.cols[i] = newColumn(n, tn)
	}
	st.colBuf = encodeColumns(st.cols)
	st.dest = make([]driver.Value, len(names))
	s.stmt = st
	return st, nil
}

// drainOK runs a write or DDL to completion and keeps its counts.
func (st *stmt) drainOK(ncols int) error {
	s := st.sess
	dest := make([]driver.Value, ncols)
	var affected int64
	for {
		err := st.rows.Next(dest)
		if err == io.EOF {
			break
		}
		if err != nil {
			_ = st.rows.Close()
			s.endStatement()
			return s.wasCanceled(err)
		}
		if ncols == 1 {
			if ok, isOK := dest[0].(types.OkResult); isOK {
				affected += int64(ok.RowsAffected)
				st.lastID = ok.InsertID
			}
		}
	}
	err := st.rows.Close()
	s.endStatement()
	if err != nil {
		return s.wasCanceled(err)
	}
	st.rows, st.done, st.affected = nil, true, affected
	return nil
}

func (s *session) endStatement() {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
	s.cancel = nil
	s.mu.Unlock()
}

// maxBatchBytes bounds one batch, so a wide result cannot make one huge buffer.
const maxBatchBytes = 4 << 20

func (st *stmt) fetch(maxRows int) (int, error) {
	st.enc.reset(len(st.cols))
	if st.done || st.rows == nil {
		return 0, nil
	}
	n := 0
	for n < maxRows && len(st.enc.data) < maxBatchBytes {
		err := st.rows.Next(st.dest)
		if err == io.EOF {
			st.finish()
			break
		}
		if err != nil {
			err = st.sess.wasCanceled(err)
			st.finish()
			return -1, err
		}
		if err := st.enc.appendRow(st.dest, st.cols); err != nil {
			st.finish()
			return -1, newErr(errInternal, "%v", err)
		}
		n++
	}
	return n, nil
}

// finish releases the row iterator as soon as rows run out, so the session's
// process-list entry and any locks go before the caller gets to close.
func (st *stmt) finish() {
	st.done = true
	if st.rows != nil {
		_ = st.rows.Close()
		st.rows = nil
	}
	st.sess.endStatement()
}

func (st *stmt) close() {
	if !st.done {
		st.finish()
	}
	if st.sess.stmt == st {
		st.sess.stmt = nil
	}
}
