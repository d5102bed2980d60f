// Command pgxcheck runs pgx v5 against the database URL in argv[1] and prints one JSON
// object of named results: CopyFrom (binary COPY), a batch whose parameters take their
// types from context (qty + $1), typed scans and a transaction. Run by
// tests/integration/test_pgx.py.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	ctx := context.Background()
	out := map[string]any{}
	fail := func(step string, err error) {
		out["error_step"] = step
		out["error"] = err.Error()
		_ = json.NewEncoder(os.Stdout).Encode(out)
		os.Exit(1)
	}
	conn, err := pgx.Connect(ctx, os.Args[1])
	if err != nil {
		fail("connect", err)
	}
	defer conn.Close(ctx)

	if _, err = conn.Exec(ctx, `DROP TABLE IF EXISTS pgx_items`); err != nil {
		fail("drop", err)
	}
	_, err = conn.Exec(ctx, `CREATE TABLE pgx_items (
		id integer PRIMARY KEY, name text NOT NULL, qty integer NOT NULL,
		price numeric(10,2), added timestamptz)`)
	if err != nil {
		fail("create", err)
	}
	when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	rows := make([][]any, 0, 10000)
	for i := 1; i <= 10000; i++ {
		rows = append(rows, []any{int32(i), fmt.Sprintf("item %d", i), int32(i % 7), "1.25", when})
	}
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"pgx_items"},
		[]string{"id", "name", "qty", "price", "added"}, pgx.CopyFromRows(rows))
	if err != nil {
		fail("copyfrom", err)
	}
	out["copied"] = n

	batch := &pgx.Batch{}
	for i := 1; i <= 100; i++ {
		batch.Queue(`UPDATE pgx_items SET qty = qty + $1 WHERE id = $2`, 10, i)
	}
	if err = conn.SendBatch(ctx, batch).Close(); err != nil {
		fail("batch", err)
	}
	var qty int32
	if err = conn.QueryRow(ctx, `SELECT qty FROM pgx_items WHERE id = $1`, 7).Scan(&qty); err != nil {
		fail("select qty", err)
	}
	out["qty_7"] = qty

	var total int64
	var added time.Time
	var name string
	err = conn.QueryRow(ctx,
		`SELECT count(*), max(name), min(added) FROM pgx_items WHERE qty >= $1`, 10).
		Scan(&total, &name, &added)
	if err != nil {
		fail("aggregate", err)
	}
	out["count_ge_10"] = total
	out["max_name"] = name
	out["added"] = added.UTC().Format(time.RFC3339)

	tx, err := conn.Begin(ctx)
	if err != nil {
		fail("begin", err)
	}
	if _, err = tx.Exec(ctx, `DELETE FROM pgx_items WHERE id > $1`, 5000); err != nil {
		fail("delete", err)
	}
	if err = tx.Rollback(ctx); err != nil {
		fail("rollback", err)
	}
	if err = conn.QueryRow(ctx, `SELECT count(*) FROM pgx_items`).Scan(&total); err != nil {
		fail("count", err)
	}
	out["after_rollback"] = total
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
