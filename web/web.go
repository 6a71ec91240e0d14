// Package web holds the console and report bundle that `make web` builds
// from the TypeScript sources beside it (web/src) into web/dist, where it
// is committed as a generated artifact: Go builds embed it and need no
// Node. One bundle renders both the live console and the report file.
package web

import (
	"embed"
	"strings"
)

//go:embed dist/app.js dist/app.css dist/stamp.txt
var dist embed.FS

func read(name string) []byte {
	b, err := dist.ReadFile("dist/" + name)
	if err != nil {
		panic("web: the embedded bundle lacks " + name + ": run make web") // go:embed makes this unreachable
	}
	return b
}

// Script is the bundle's JavaScript (a classic script, not a module).
func Script() []byte { return read("app.js") }

// Style is the bundle's CSS.
func Style() []byte { return read("app.css") }

// Stamp is the hash of the sources the bundle was built from.
func Stamp() string { return strings.TrimSpace(string(read("stamp.txt"))) }

// Shell is the console's page: every /ui/ path serves it, and the bundle
// routes on the path. Assets are versioned by the stamp so a browser never
// mixes an old script with a new page.
func Shell() []byte {
	v := Stamp()
	if len(v) > 12 {
		v = v[:12]
	}
	return []byte(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Barrage</title>
<link rel="stylesheet" href="/ui/assets/app.css?v=` + v + `">
</head>
<body>
<div id="app"></div>
<script src="/ui/assets/app.js?v=` + v + `"></script>
</body>
</html>
`)
}
