package main

import (
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTest(t *testing.T, dir string) *engine {
	t.Helper()
	e, err := openEngine(dir, "mydb", "tester", "tester@example.invalid", 0)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = e.release() })
	return e
}

func sessionOn(t *testing.T, e *engine, db string) *session {
	t.Helper()
	s, err := e.openSession(db, "tester", "tester@example.invalid")
	if err != nil {
		t.Fatalf("session on %s: %v", db, err)
	}
	t.Cleanup(s.close)
	return s
}

// rowsOf runs a query and decodes every batch back into strings ("NULL" for NULL).
func rowsOf(t *testing.T, s *session, q string, args ...any) [][]string {
	t.Helper()
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	st, err := s.query(q, nv)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer st.close()
	var out [][]string
	for {
		n, err := st.fetch(2)
		if err != nil {
			t.Fatalf("fetch %s: %v", q, err)
		}
		if n == 0 {
			return out
		}
		buf := make([]byte, st.enc.size())
		st.enc.writeTo(buf)
		nc := len(st.cols)
		data := buf[4*n*nc:]
		for r := 0; r < n; r++ {
			row := make([]string, nc)
			for c := 0; c < nc; c++ {
				l := int32(binary.LittleEndian.Uint32(buf[4*(r*nc+c):]))
				if l < 0 {
					row[c] = "NULL"
					continue
				}
				row[c] = string(data[:l])
				data = data[l:]
			}
			out = append(out, row)
		}
	}
}

func exec(t *testing.T, s *session, q string) int64 {
	t.Helper()
	st, err := s.query(q, nil)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	st.close()
	return st.affected
}

func TestOpenCreatesDatabaseAndRoundTripsTypes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing", "dbs")
	e := openTest(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "mydb", ".dolt")); err != nil {
		t.Fatalf("database not created like dolt init: %v", err)
	}
	s := sessionOn(t, e, "mydb")
	exec(t, s, `CREATE TABLE t (id INT PRIMARY KEY, d DECIMAL(10,2), f DOUBLE, s VARCHAR(20),
		dt DATETIME(6), day DATE, j JSON, b BLOB, ok BOOLEAN)`)
	n := exec(t, s, `INSERT INTO t VALUES (1, 1.5, 0.25, 'héllo', '2025-01-02 03:04:05.123456',
		'2025-01-02', '{"a": [1, 2]}', x'00ff', true), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	if n != 2 {
		t.Fatalf("rows affected %d, want 2", n)
	}
	got := rowsOf(t, s, "SELECT * FROM t WHERE id >= ? ORDER BY id", int64(1))
	want := [][]string{
		{"1", "1.50", "0.25", "héllo", "2025-01-02 03:04:05.123456", "2025-01-02", `{"a": [1, 2]}`, "\x00\xff", "1"},
		{"2", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
	}
	if strings.Join(flat(got), "|") != strings.Join(flat(want), "|") {
		t.Fatalf("rows\n got %q\nwant %q", got, want)
	}
}

func flat(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func TestSessionsOnBranchesAreIsolated(t *testing.T) {
	e := openTest(t, t.TempDir())
	a := sessionOn(t, e, "mydb")
	exec(t, a, "CREATE TABLE t (id INT PRIMARY KEY)")
	exec(t, a, "INSERT INTO t VALUES (1)")
	rowsOf(t, a, "CALL DOLT_COMMIT('-Am', 'one')")
	rowsOf(t, a, "CALL DOLT_BRANCH('feature')")
	b := sessionOn(t, e, "mydb")
	rowsOf(t, b, "CALL DOLT_CHECKOUT('feature')")
	exec(t, b, "INSERT INTO t VALUES (2)")
	if got := rowsOf(t, b, "SELECT active_branch()")[0][0]; got != "feature" {
		t.Fatalf("b on %s", got)
	}
	if got := rowsOf(t, a, "SELECT active_branch()")[0][0]; got != "main" {
		t.Fatalf("checkout leaked into a: %s", got)
	}
	if got := rowsOf(t, a, "SELECT COUNT(*) FROM t")[0][0]; got != "1" {
		t.Fatalf("main sees %s rows", got)
	}
	// Working sets are per branch, not per session: the revision database
	// of feature sees b's committed SQL transaction.
	c := sessionOn(t, e, "mydb/feature")
	if got := rowsOf(t, c, "SELECT COUNT(*) FROM t")[0][0]; got != "2" {
		t.Fatalf("revision database sees %s rows", got)
	}
}

func TestErrorsCarryMySQLCodes(t *testing.T) {
	e := openTest(t, t.TempDir())
	s := sessionOn(t, e, "mydb")
	_, err := s.query("SELECT * FROM nope", nil)
	var le *libError
	if !errors.As(err, &le) || le.code != 1146 {
		t.Fatalf("want 1146, got %#v", err)
	}
	// The embedded driver reports a syntax error as 1105 with the parser's
	// message; pgproxy/backends/dolt.py classifies those messages.
	_, err = s.query("SELEC 1", nil)
	if !errors.As(err, &le) || !strings.HasPrefix(le.msg, "syntax error") {
		t.Fatalf("want a syntax error, got %#v", err)
	}
	if _, err := e.openSession("nodb", "x", "y"); !errors.As(err, &le) || le.code != 1049 {
		t.Fatalf("want 1049 for an unknown database, got %#v", err)
	}
}

func TestNotADoltDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := openEngine(dir, "mydb", "", "", 0)
	var le *libError
	if !errors.As(err, &le) || le.code != errNotDolt || !strings.Contains(le.msg, "not a Dolt directory") {
		t.Fatalf("want errNotDolt, got %#v", err)
	}
	_, err = openEngine(filepath.Join(dir, "notes.txt"), "mydb", "", "", 0)
	if !errors.As(err, &le) || le.code != errNotDolt {
		t.Fatalf("want errNotDolt for a file, got %#v", err)
	}
}

func TestCancelInterruptsAStatement(t *testing.T) {
	e := openTest(t, t.TempDir())
	s := sessionOn(t, e, "mydb")
	go func() {
		time.Sleep(300 * time.Millisecond)
		s.interrupt()
	}()
	start := time.Now()
	st, err := s.query("SELECT SLEEP(20)", nil)
	if err == nil {
		_, err = st.fetch(10)
		st.close()
	}
	var le *libError
	if !errors.As(err, &le) || le.code != errCanceled {
		t.Fatalf("want errCanceled, got %#v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("cancel took %v", time.Since(start))
	}
	if got := rowsOf(t, s, "SELECT 1")[0][0]; got != "1" {
		t.Fatalf("session unusable after cancel: %s", got)
	}
}

func TestTransactionState(t *testing.T) {
	e := openTest(t, t.TempDir())
	s := sessionOn(t, e, "mydb")
	if s.gmsCtx == nil {
		t.Fatal("the driver's DoltConn no longer has gmsCtx: update driverSessionContext")
	}
	if s.inTransaction() != 0 {
		t.Fatal("in a transaction before BEGIN")
	}
	exec(t, s, "BEGIN")
	if s.inTransaction() != 1 {
		t.Fatal("not in a transaction after BEGIN")
	}
	exec(t, s, "COMMIT")
	if s.inTransaction() != 0 {
		t.Fatal("still in a transaction after COMMIT")
	}
}

func TestParamsDecode(t *testing.T) {
	var b []byte
	b = append(b, 0)
	b = append(b, 1)
	b = binary.LittleEndian.AppendUint64(b, uint64(1<<40))
	b = append(b, 3)
	b = binary.LittleEndian.AppendUint32(b, 2)
	b = append(b, "hi"...)
	args, err := decodeParams(b, 3)
	if err != nil || args[0].Value != nil || args[1].Value != int64(1<<40) || args[2].Value != "hi" {
		t.Fatalf("got %#v %v", args, err)
	}
	if _, err := decodeParams(b[:5], 3); err == nil {
		t.Fatal("short buffer accepted")
	}
}
