// The C API of libdolt.h: handles in, handles and C-owned buffers out.
// Nothing here knows SQL; engine.go and encode.go do the work.
package main

/*
#include <stdlib.h>
#include <string.h>
#define LIBDOLT_TYPES_ONLY
#include "libdolt.h"
*/
import "C"

import (
	"database/sql/driver"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"
)

const libVersion = "libdolt 0.1 (github.com/dolthub/driver/v2 v2.2.0)"

var cVersion = C.CString(libVersion)

// Handles: C never holds a Go pointer, only a number that maps to one here.
var (
	handlesMu  sync.RWMutex
	handles    = map[uint64]any{}
	nextHandle atomic.Uint64
)

func register(v any) C.dolt_handle {
	h := nextHandle.Add(1)
	handlesMu.Lock()
	handles[h] = v
	handlesMu.Unlock()
	return C.dolt_handle(h)
}

func lookup[T any](h C.dolt_handle) (T, bool) {
	handlesMu.RLock()
	v, ok := handles[uint64(h)]
	handlesMu.RUnlock()
	t, isT := v.(T)
	return t, ok && isT
}

func unregister(h C.dolt_handle) {
	handlesMu.Lock()
	delete(handles, uint64(h))
	handlesMu.Unlock()
}

// cstmt pairs a stmt with the C memory it hands out.
type cstmt struct {
	st      *stmt
	cols    unsafe.Pointer
	colsLen int
	batch   unsafe.Pointer
	cap     int
}

func (c *cstmt) free() {
	C.free(c.cols)
	C.free(c.batch)
	c.cols, c.batch, c.cap = nil, nil, 0
}

func setErr(out *C.dolt_error, err error) {
	if out == nil || err == nil {
		return
	}
	le := asLibError(err)
	if out.message != nil {
		C.free(unsafe.Pointer(out.message))
	}
	out.code = C.int32_t(le.code)
	state := le.sqlstate
	if len(state) > 7 {
		state = state[:7]
	}
	for i := range out.sqlstate {
		out.sqlstate[i] = 0
	}
	for i := 0; i < len(state); i++ {
		out.sqlstate[i] = C.char(state[i])
	}
	out.message = C.CString(le.msg)
}

// guard turns a Go panic into an error: a panic crossing into C would kill the host process.
func guard(out *C.dolt_error, failed func()) {
	if r := recover(); r != nil {
		setErr(out, newErr(errInternal, "libdolt panic: %v\n%s", r, debug.Stack()))
		failed()
	}
}

func badHandle(what string, h C.dolt_handle) error {
	return newErr(errBadHandle, "unknown or closed %s handle %d", what, uint64(h))
}

func goStringOr(s *C.char, def string) string {
	if s == nil {
		return def
	}
	return C.GoString(s)
}

//export dolt_version
func dolt_version() *C.char { return cVersion }

//export dolt_free
func dolt_free(p unsafe.Pointer) { C.free(p) }

//export dolt_error_clear
func dolt_error_clear(err *C.dolt_error) {
	if err == nil {
		return
	}
	C.free(unsafe.Pointer(err.message))
	*err = C.dolt_error{}
}

//export dolt_open
func dolt_open(dir, database, commitName, commitEmail *C.char, flags C.uint32_t, out *C.dolt_error) (h C.dolt_handle) {
	defer guard(out, func() { h = 0 })
	name, email := goStringOr(commitName, ""), goStringOr(commitEmail, "")
	if name == "" {
		name = "pgproxy"
	}
	if email == "" {
		email = "pgproxy@localhost"
	}
	e, err := openEngine(goStringOr(dir, ""), goStringOr(database, ""), name, email, uint32(flags))
	if err != nil {
		setErr(out, err)
		return 0
	}
	return register(&dbHandle{eng: e, database: goStringOr(database, ""), name: name, email: email})
}

// dbHandle is one dolt_open: the shared engine plus this opener's default
// database and commit identity.
type dbHandle struct {
	eng         *engine
	database    string
	name, email string
}

//export dolt_is_read_only
func dolt_is_read_only(h C.dolt_handle) C.int32_t {
	d, ok := lookup[*dbHandle](h)
	if !ok {
		return -1
	}
	if d.eng.readOnly {
		return 1
	}
	return 0
}

//export dolt_close
func dolt_close(h C.dolt_handle, out *C.dolt_error) (rc C.int32_t) {
	defer guard(out, func() { rc = -1 })
	d, ok := lookup[*dbHandle](h)
	if !ok {
		setErr(out, badHandle("db", h))
		return -1
	}
	unregister(h)
	if err := d.eng.release(); err != nil {
		setErr(out, err)
		return -1
	}
	return 0
}

//export dolt_session_open
func dolt_session_open(h C.dolt_handle, database *C.char, out *C.dolt_error) (sh C.dolt_handle) {
	defer guard(out, func() { sh = 0 })
	d, ok := lookup[*dbHandle](h)
	if !ok {
		setErr(out, badHandle("db", h))
		return 0
	}
	s, err := d.eng.openSession(goStringOr(database, d.database), d.name, d.email)
	if err != nil {
		setErr(out, err)
		return 0
	}
	return register(&csession{s: s})
}

// csession pairs a session with the buffers of a statement that finished
// inside dolt_execute, which the caller reads until its next call.
type csession struct {
	s       *session
	retired *cstmt
}

func (cs *csession) sessionOrNil() *session {
	if cs == nil {
		return nil
	}
	return cs.s
}

func (cs *csession) retire(c *cstmt) {
	if cs.retired != nil {
		cs.retired.free()
	}
	cs.retired = c
}

//export dolt_session_close
func dolt_session_close(h C.dolt_handle) (rc C.int32_t) {
	defer guard(nil, func() { rc = -1 })
	cs, ok := lookup[*csession](h)
	s := cs.sessionOrNil()
	if !ok {
		return -1
	}
	unregister(h)
	cs.retire(nil)
	s.close()
	return 0
}

//export dolt_in_transaction
func dolt_in_transaction(h C.dolt_handle) C.int32_t {
	cs, ok := lookup[*csession](h)
	s := cs.sessionOrNil()
	if !ok {
		return -1
	}
	return C.int32_t(s.inTransaction())
}

//export dolt_cancel
func dolt_cancel(h C.dolt_handle) C.int32_t {
	cs, ok := lookup[*csession](h)
	s := cs.sessionOrNil()
	if !ok {
		return -1
	}
	return C.int32_t(s.interrupt())
}

//export dolt_query
func dolt_query(h C.dolt_handle, sql *C.char, sqlLen C.size_t, params *C.uint8_t, paramsLen C.size_t,
	nparams C.int32_t, out *C.dolt_error) (sh C.dolt_handle) {
	defer guard(out, func() { sh = 0 })
	cs, ok := lookup[*csession](h)
	s := cs.sessionOrNil()
	if !ok {
		setErr(out, badHandle("session", h))
		return 0
	}
	var pbuf []byte
	if params != nil && paramsLen > 0 {
		pbuf = unsafe.Slice((*byte)(unsafe.Pointer(params)), int(paramsLen))
	}
	args, err := decodeParams(pbuf, int(nparams))
	if err != nil {
		setErr(out, err)
		return 0
	}
	cs.retire(nil)
	c, err := startStmt(s, sql, sqlLen, args)
	if err != nil {
		setErr(out, err)
		return 0
	}
	return register(c)
}

func startStmt(s *session, sql *C.char, sqlLen C.size_t, args []driver.NamedValue) (*cstmt, error) {
	st, err := s.query(C.GoStringN(sql, C.int(sqlLen)), args)
	if err != nil {
		return nil, err
	}
	c := &cstmt{st: st}
	if len(st.colBuf) > 0 {
		c.cols = C.CBytes(st.colBuf)
		c.colsLen = len(st.colBuf)
	}
	return c, nil
}

//export dolt_execute
func dolt_execute(h C.dolt_handle, sql *C.char, sqlLen C.size_t, params *C.uint8_t, paramsLen C.size_t,
	nparams C.int32_t, maxRows C.int32_t, res *C.dolt_result, out *C.dolt_error) (rc C.int32_t) {
	defer guard(out, func() { rc = -1 })
	cs, ok := lookup[*csession](h)
	if !ok {
		setErr(out, badHandle("session", h))
		return -1
	}
	*res = C.dolt_result{}
	cs.retire(nil)
	var pbuf []byte
	if params != nil && paramsLen > 0 {
		pbuf = unsafe.Slice((*byte)(unsafe.Pointer(params)), int(paramsLen))
	}
	args, err := decodeParams(pbuf, int(nparams))
	if err != nil {
		setErr(out, err)
		return -1
	}
	c, err := startStmt(cs.s, sql, sqlLen, args)
	if err != nil {
		setErr(out, err)
		return -1
	}
	st := c.st
	res.ncols = C.int32_t(len(st.cols))
	res.rows_affected = C.int64_t(st.affected)
	res.last_insert_id = C.uint64_t(st.lastID)
	res.columns = (*C.uint8_t)(c.cols)
	res.columns_len = C.size_t(c.colsLen)
	if len(st.cols) > 0 && maxRows > 0 {
		n, err := c.fetchInto(int(maxRows))
		if err != nil {
			st.close()
			c.free()
			setErr(out, err)
			return -1
		}
		res.batch = (*C.uint8_t)(c.batch)
		res.batch_len = C.size_t(st.enc.size())
		res.nrows = C.int64_t(n)
	}
	if st.done {
		res.done = 1
		st.close()
		cs.retire(c)
		return 0
	}
	res.stmt = register(c)
	return 0
}

// fetchInto fetches a batch into the stmt's C buffer.
func (c *cstmt) fetchInto(maxRows int) (int, error) {
	rows, err := c.st.fetch(max(maxRows, 1))
	if err != nil {
		return -1, err
	}
	size := c.st.enc.size()
	if size > c.cap {
		newCap := max(size, 2*c.cap, 4096)
		p := C.realloc(c.batch, C.size_t(newCap))
		if p == nil {
			return -1, newErr(errInternal, "out of memory for a %d-byte batch", newCap)
		}
		c.batch, c.cap = p, newCap
	}
	if size > 0 {
		c.st.enc.writeTo(unsafe.Slice((*byte)(c.batch), size))
	}
	return rows, nil
}

//export dolt_stmt_info
func dolt_stmt_info(h C.dolt_handle, ncols *C.int32_t, affected *C.int64_t, lastID *C.uint64_t) C.int32_t {
	c, ok := lookup[*cstmt](h)
	if !ok {
		return -1
	}
	if ncols != nil {
		*ncols = C.int32_t(len(c.st.cols))
	}
	if affected != nil {
		*affected = C.int64_t(c.st.affected)
	}
	if lastID != nil {
		*lastID = C.uint64_t(c.st.lastID)
	}
	return 0
}

//export dolt_stmt_columns
func dolt_stmt_columns(h C.dolt_handle, buf **C.uint8_t, n *C.size_t) C.int32_t {
	c, ok := lookup[*cstmt](h)
	if !ok {
		return -1
	}
	*buf = (*C.uint8_t)(c.cols)
	*n = C.size_t(c.colsLen)
	return 0
}

//export dolt_fetch
func dolt_fetch(h C.dolt_handle, maxRows C.int32_t, buf **C.uint8_t, n *C.size_t, done *C.int32_t,
	out *C.dolt_error) (rc C.int64_t) {
	defer guard(out, func() { rc = -1 })
	c, ok := lookup[*cstmt](h)
	if !ok {
		setErr(out, badHandle("stmt", h))
		return -1
	}
	rows, err := c.fetchInto(int(maxRows))
	if err != nil {
		setErr(out, err)
		return -1
	}
	*buf = (*C.uint8_t)(c.batch)
	*n = C.size_t(c.st.enc.size())
	if done != nil {
		*done = 0
		if c.st.done {
			*done = 1
		}
	}
	return C.int64_t(rows)
}

//export dolt_stmt_close
func dolt_stmt_close(h C.dolt_handle, out *C.dolt_error) (rc C.int32_t) {
	defer guard(out, func() { rc = -1 })
	c, ok := lookup[*cstmt](h)
	if !ok {
		setErr(out, badHandle("stmt", h))
		return -1
	}
	unregister(h)
	c.st.close()
	c.free()
	return 0
}


