// Package main is libdolt: Dolt's embedded SQL engine behind the C API in
// libdolt.h, built with -buildmode=c-shared for pgproxy's dolt:/// backend.
package main

import "C"

func main() {}
