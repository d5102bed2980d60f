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
	return register(s)
}

//export dolt_session_close
func dolt_session_close(h C.dolt_handle) (rc C.int32_t) {
	defer guard(nil, func() { rc = -1 })
	s, ok := lookup[*session](h)
	if !ok {
		return -1
	}
	unregister(h)
	s.close()
	return 0
}

//export dolt_in_transaction
func dolt_in_transaction(h C.dolt_handle) C.int32_t {
	s, ok := lookup[*session](h)
	if !ok {
		return -1
	}
	return C.int32_t(s.inTransaction())
}

//export dolt_cancel
func dolt_cancel(h C.dolt_handle) C.int32_t {
	s, ok := lookup[*session](h)
	if !ok {
		return -1
	}
	return C.int32_t(s.interrupt())
}

//export dolt_query
func dolt_query(h C.dolt_handle, sql *C.char, sqlLen C.size_t, params *C.uint8_t, paramsLen C.size_t,
	nparams C.int32_t, out *C.dolt_error) (sh C.dolt_handle) {
	defer guard(out, func() { sh = 0 })
	s, ok := lookup[*session](h)
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
	query := C.GoStringN(sql, C.int(sqlLen))
	st, err := s.query(query, args)
	if err != nil {
		setErr(out, err)
		return 0
	}
	c := &cstmt{st: st}
	if len(st.colBuf) > 0 {
		c.cols = C.CBytes(st.colBuf)
		c.colsLen = len(st.colBuf)
	}
	return register(c)
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
	rows, err := c.st.fetch(max(int(maxRows), 1))
	if err != nil {
		setErr(out, err)
		return -1
	}
	size := c.st.enc.size()
	if size > c.cap {
		newCap := max(size, 2*c.cap, 4096)
		p := C.realloc(c.batch, C.size_t(newCap))
		if p == nil {
			setErr(out, newErr(errInternal, "out of memory for a %d-byte batch", newCap))
			return -1
		}
		c.batch, c.cap = p, newCap
	}
	if size > 0 {
		c.st.enc.writeTo(unsafe.Slice((*byte)(c.batch), size))
	}
	*buf = (*C.uint8_t)(c.batch)
	*n = C.size_t(size)
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


