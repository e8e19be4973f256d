// Package fuzzlist checks that `make test-fuzz` (mk/fuzz.mk) runs every
// fuzz target of the repository, and names none that does not exist: a
// fuzz target nothing runs with -fuzz only ever checks its seeds.
package fuzzlist
