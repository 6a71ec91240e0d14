// Package layers holds no code: its test keeps Barrage's imports running
// one way, from the command down to the pure core (see
// docs/architecture.md). A new package must be given a layer there.
package layers
