// Loads rows with pgx's CopyFrom (binary COPY) and reads them back, printing JSON.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
)

func main() {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	defer conn.Close(ctx)
	rows := [][]any{
		{int32(1), "plain", 1.5, true},
		{int32(2), nil, nil, nil},
		{int32(3), "tab\tnew\nline ✓", -0.25, false},
	}
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"pgx_copy"}, []string{"id", "name", "score", "ok"},
		pgx.CopyFromRows(rows))
	if err != nil {
		fmt.Fprintln(os.Stderr, "copy:", err)
		os.Exit(2)
	}
	got, err := conn.Query(ctx, "SELECT id, name, score, ok FROM pgx_copy ORDER BY id")
	if err != nil {
		fmt.Fprintln(os.Stderr, "query:", err)
		os.Exit(3)
	}
	out, err := pgx.CollectRows(got, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
	if err != nil {
		fmt.Fprintln(os.Stderr, "rows:", err)
		os.Exit(4)
	}
	enc, _ := json.Marshal(map[string]any{"copied": n, "rows": out})
	fmt.Println(string(enc))
}
