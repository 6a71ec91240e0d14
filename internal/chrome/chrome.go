// Package chrome drives a headless Chromium (Debian's chromium): it prints
// report files to PDF, and the browser tests drive it through the same
// launch options.
package chrome

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium is returned when no Chromium can be found.
var ErrNoChromium = errors.New("no Chromium found: install Debian's chromium package (apt-get install chromium) or set BARRAGE_CHROMIUM to its path")

// candidates are the program names Find looks for on PATH.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Find returns the path of the Chromium to run: $BARRAGE_CHROMIUM, or the
// first of chromium, chromium-browser, google-chrome on PATH.
func Find() (string, error) {
	if p := os.Getenv("BARRAGE_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("BARRAGE_CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Options are the launch options of a headless Chromium at path with its
// own profile in dir: no sandbox (it may run as root in CI), and none of
// its background traffic (updates, sync, safe browsing), which a closed
// network refuses and a test would count as requests.
func Options(path, dir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions"),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1280, 900),
	}
}

// Start launches a headless Chromium; cancel stops it and removes its
// profile.
func Start(ctx context.Context) (context.Context, context.CancelFunc, error) {
	path, err := Find()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "barrage-chromium-")
	if err != nil {
		return nil, nil, err
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, Options(path, dir)...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		_ = os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("start %s: %w", path, err)
	}
	return bctx, func() {
		bcancel()
		acancel()
		_ = os.RemoveAll(dir)
	}, nil
}

// WaitRendered waits until the bundle says the page is rendered
// (document.documentElement.dataset.ready is "1"), or failed to ("error").
func WaitRendered() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			state, err := chromedp.Evaluate[string](`document.documentElement.dataset.ready || ""`)(ctx, t)
			if err != nil {
				return chromedp.Void{}, err
			}
			switch state {
			case "1":
				return chromedp.Void{}, nil
			case "error":
				msg, _ := chromedp.Evaluate[string](`(document.getElementById("app") || document.body).innerText.slice(0, 500)`)(ctx, t)
				return chromedp.Void{}, fmt.Errorf("the page failed to render: %s", msg)
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// DrawAll draws every chart the page keeps for when it scrolls into view
// (the bundle draws far-away charts lazily), and waits for the frame.
func DrawAll() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[bool](`(window.__barrageDrawAll && window.__barrageDrawAll(),
			new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))))`, chromedp.EvalAwaitPromise)(ctx, t)
		return chromedp.Void{}, err
	}
}

// PrintTimeout bounds printing one report.
const PrintTimeout = 60 * time.Second

// PrintPDF prints an HTML report file to PDF (A4, backgrounds on) in a
// headless Chromium: ErrNoChromium when there is none.
func PrintPDF(ctx context.Context, doc []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "barrage-print-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, PrintTimeout)
	defer cancel()
	bctx, stop, err := Start(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := chromedp.Do(bctx, chromedp.Navigate("file://"+file), WaitRendered(), DrawAll()); err != nil {
		return nil, fmt.Errorf("print report to PDF: %w", err)
	}
	out, err := chromedp.Run(bctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFMargin(0.4), chromedp.PDFPrintBackground(),
		// The page lays out at about 1,000 CSS px (its charts' width), not the
		// 717 px of an A4 page's printable width.
		chromedp.PDFScale(0.72)))
	if err != nil {
		return nil, fmt.Errorf("print report to PDF: %w", err)
	}
	return out, nil
}
