// The wire format between libdolt and its caller: column descriptions, row
// batches and parameters, each one flat little-endian buffer (see libdolt.h).
package main

import (
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"
)

type colKind uint8

const (
	kindOther colKind = iota
	kindDate
	kindDatetime
	kindDecimal
)

type column struct {
	name     string
	typeName string
	kind     colKind
	scale    int // decimal digits after the point, or datetime fraction digits
}

func newColumn(name, typeName string) column {
	c := column{name: name, typeName: typeName}
	tn := strings.ToLower(typeName)
	switch {
	case tn == "date":
		c.kind = kindDate
	case strings.HasPrefix(tn, "datetime"), strings.HasPrefix(tn, "timestamp"):
		c.kind = kindDatetime
		c.scale = parenInt(tn, 0)
	case strings.HasPrefix(tn, "decimal"):
		c.kind = kindDecimal
		if i := strings.IndexByte(tn, ','); i >= 0 {
			c.scale, _ = strconv.Atoi(strings.TrimRight(strings.TrimSpace(tn[i+1:]), ") unsigned"))
		}
	}
	return c
}

// parenInt reads N from "type(N)".
func parenInt(tn string, def int) int {
	i, j := strings.IndexByte(tn, '('), strings.IndexByte(tn, ')')
	if i < 0 || j < i {
		return def
	}
	n, err := strconv.Atoi(tn[i+1 : j])
	if err != nil {
		return def
	}
	return n
}

func encodeColumns(cols []column) []byte {
	var b []byte
	for _, c := range cols {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(c.name)))
		b = append(b, c.name...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(c.typeName)))
		b = append(b, c.typeName...)
	}
	return b
}

// batchEncoder builds one batch: lengths and data grow in their own slices,
// reused across batches, and are joined once when the batch is handed over.
type batchEncoder struct {
	lens []int32
	data []byte
}

func (e *batchEncoder) reset(ncols int) {
	e.lens = e.lens[:0]
	e.data = e.data[:0]
}

func (e *batchEncoder) appendRow(row []driver.Value, cols []column) error {
	for i, v := range row {
		if v == nil {
			e.lens = append(e.lens, -1)
			continue
		}
		start := len(e.data)
		var err error
		e.data, err = appendText(e.data, v, &cols[i])
		if err != nil {
			return fmt.Errorf("column %q: %w", cols[i].name, err)
		}
		e.lens = append(e.lens, int32(len(e.data)-start))
	}
	return nil
}

// size is the joined batch's byte length.
func (e *batchEncoder) size() int { return 4*len(e.lens) + len(e.data) }

// writeTo joins lengths and data into dst, which has size() bytes.
func (e *batchEncoder) writeTo(dst []byte) {
	off := 0
	for _, l := range e.lens {
		binary.LittleEndian.PutUint32(dst[off:], uint32(l))
		off += 4
	}
	copy(dst[off:], e.data)
}

// appendText writes a value as MySQL's text protocol would.
func appendText(b []byte, v driver.Value, c *column) ([]byte, error) {
	switch x := v.(type) {
	case string:
		if c.kind == kindDecimal {
			return appendDecimalText(b, x, c.scale), nil
		}
		return append(b, x...), nil
	case []byte:
		return append(b, x...), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case float64:
		return appendFloat(b, x, 64), nil
	case float32:
		return appendFloat(b, float64(x), 32), nil
	case bool:
		if x {
			return append(b, '1'), nil
		}
		return append(b, '0'), nil
	case time.Time:
		return appendTime(b, x, c), nil
	case decimal.Decimal:
		return appendDecimalText(b, x.String(), c.scale), nil
	case types.Timespan:
		return append(b, x.String()...), nil
	case types.OkResult:
		return strconv.AppendUint(b, x.RowsAffected, 10), nil
	case fmt.Stringer:
		return append(b, x.String()...), nil
	default:
		return fmt.Appendf(b, "%v", x), nil
	}
}

// appendFloat matches MySQL's shortest round-trip form; NaN and infinities
// cannot be stored in Dolt but can come out of expressions.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// appendDecimalText pads the fraction to the column's scale: shopspring's
// String trims trailing zeros, MySQL (and PostgreSQL's numeric(p,s)) keep them.
func appendDecimalText(b []byte, s string, scale int) []byte {
	b = append(b, s...)
	if scale <= 0 {
		return b
	}
	dot := strings.IndexByte(s, '.')
	have := 0
	if dot < 0 {
		b = append(b, '.')
	} else {
		have = len(s) - dot - 1
	}
	for ; have < scale; have++ {
		b = append(b, '0')
	}
	return b
}

func appendTime(b []byte, t time.Time, c *column) []byte {
	if c.kind == kindDate {
		return t.AppendFormat(b, "2006-01-02")
	}
	b = t.AppendFormat(b, "2006-01-02 15:04:05")
	digits := c.scale
	if c.kind != kindDatetime {
		digits = 6
	}
	if digits > 0 {
		ns := t.Nanosecond()
		if c.kind != kindDatetime && ns == 0 {
			return b
		}
		frac := strconv.Itoa(ns/1000 + 1000000)[1:] // six zero-padded digits
		b = append(b, '.')
		b = append(b, frac[:min(digits, 6)]...)
	}
	return b
}

// decodeParams reads the parameter buffer described in libdolt.h.
func decodeParams(buf []byte, n int) ([]driver.NamedValue, error) {
	if n == 0 {
		return nil, nil
	}
	args := make([]driver.NamedValue, n)
	off := 0
	need := func(k int) error {
		if off+k > len(buf) {
			return newErr(errBadParams, "parameter buffer too short")
		}
		return nil
	}
	for i := range n {
		if err := need(1); err != nil {
			return nil, err
		}
		tag := buf[off]
		off++
		args[i].Ordinal = i + 1
		switch tag {
		case 0:
			args[i].Value = nil
		case 1, 2, 5:
			if err := need(8); err != nil {
				return nil, err
			}
			u := binary.LittleEndian.Uint64(buf[off:])
			off += 8
			switch tag {
			case 1:
				args[i].Value = int64(u)
			case 2:
				args[i].Value = math.Float64frombits(u)
			default:
				args[i].Value = u
			}
		case 3, 4:
			if err := need(4); err != nil {
				return nil, err
			}
			l := int(int32(binary.LittleEndian.Uint32(buf[off:])))
			off += 4
			if l < 0 {
				return nil, newErr(errBadParams, "negative parameter length")
			}
			if err := need(l); err != nil {
				return nil, err
			}
			if tag == 3 {
				args[i].Value = string(buf[off : off+l])
			} else {
				args[i].Value = append([]byte(nil), buf[off:off+l]...)
			}
			off += l
		default:
			return nil, newErr(errBadParams, "unknown parameter tag %d", tag)
		}
	}
	return args, nil
}
