// Package browsertest loads a page in a real headless Chromium for tests (the
// yearly report, later the public web pages) and says what the browser saw:
// the title, every console error, uncaught exception and failed request, and
// a full-page screenshot kept as a test artifact.
//
// The browser is Debian's chromium (scripts/ensure-chromium.sh installs it;
// VIGIL_CHROMIUM names another binary). Without one the test is skipped with
// a hint on how to get it; when VIGIL_REQUIRE_INTEGRATION=1 (the Makefile
// sets it) it fails instead, so CI cannot go green by quietly skipping.
//
// This package reads the wall clock, but only to bound how long it waits for
// the browser.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Page is what a headless Chromium saw when it loaded a page.
type Page struct {
	Title string
	// ConsoleErrors are console.error messages, uncaught exceptions and
	// failed requests (e.g. CSP violations, 404 assets), in the order the
	// browser reported them.
	ConsoleErrors []string
	// ScreenshotPath is the full-page PNG written under ArtifactsDir.
	ScreenshotPath string
}

// visitTimeout bounds one visit: start the browser, load, screenshot.
const visitTimeout = 60 * time.Second

// Visit opens url (http://127.0.0.1:… or file://…) in a fresh headless
// Chromium (its own profile directory, no sync, no background networking,
// no QUIC), waits for the load event and writes a full-page screenshot to
// ArtifactsDir(t)/name.png. It skips the test with a reason when chromium is
// missing under plain go test, and fails it under VIGIL_REQUIRE_INTEGRATION=1.
func Visit(t testing.TB, url, name string) Page {
	t.Helper()
	if !validName.MatchString(name) {
		t.Fatalf("browsertest: screenshot name %q: use letters, digits, '.', '_' and '-'", name)
	}
	bin, err := chromiumPath()
	if err != nil {
		unavailable(t, err.Error())
	}
	out := filepath.Join(ArtifactsDir(t), name+".png")
	p, err := visit(bin, t.TempDir(), url, out)
	if err != nil {
		t.Fatalf("browsertest: %s: %v", url, err)
	}
	return p
}

var validName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// unavailable skips (plain go test) or fails (make test) a test that has no
// browser to run in.
func unavailable(t testing.TB, why string) {
	t.Helper()
	msg := "browsertest: " + why + "; install it with scripts/ensure-chromium.sh (Debian's chromium) or set VIGIL_CHROMIUM"
	if os.Getenv("VIGIL_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg + " (VIGIL_REQUIRE_INTEGRATION=1)")
	}
	t.Skip(msg)
}

// chromiumPath is $VIGIL_CHROMIUM, else chromium (Debian), else
// chromium-browser (Ubuntu's name) on PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("VIGIL_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("VIGIL_CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium is not installed")
}

// ArtifactsDir is $VIGIL_TEST_ARTIFACTS if set, else <repo>/test-artifacts
// (gitignored), created if missing.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VIGIL_TEST_ARTIFACTS")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatalf("browsertest: %v", err)
		}
		dir = filepath.Join(root, "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: artifacts directory: %v", err)
	}
	return dir
}

// repoRoot is the nearest directory above the working directory (a test's
// package directory) that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory; set VIGIL_TEST_ARTIFACTS")
		}
		dir = parent
	}
}

func visit(bin, profile, url, out string) (Page, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and root, where CI runs
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // /dev/shm is 64 MB in a default container
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first Run starts the browser, which lives as long as ctx: the
	// timeout goes on a context derived after it (chromedp's rule).
	if err := chromedp.Do(ctx); err != nil {
		return Page{}, fmt.Errorf("start chromium: %w", err)
	}
	seen := problems{urls: map[network.RequestID]string{}}
	// Listen calls back on the goroutine reading the browser's messages, in
	// order, before the command that follows an event returns: once the
	// screenshot is back, every event of the load has been seen.
	if err := chromedp.Listen(ctx, seen.event); err != nil {
		return Page{}, fmt.Errorf("listen: %w", err)
	}
	tctx, cancelT := context.WithTimeout(ctx, visitTimeout)
	defer cancelT()
	if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
		return Page{}, fmt.Errorf("load: %w", err)
	}
	title, err := chromedp.Run(tctx, chromedp.Title())
	if err != nil {
		return Page{}, fmt.Errorf("title: %w", err)
	}
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		return Page{}, fmt.Errorf("screenshot: %w", err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		return Page{}, fmt.Errorf("write screenshot: %w", err)
	}
	return Page{Title: title, ConsoleErrors: seen.list(), ScreenshotPath: out}, nil
}

// problems collects what went wrong while the page loaded.
type problems struct {
	mu   sync.Mutex
	errs []string
	urls map[network.RequestID]string // requests seen, to name a failed one
}

func (p *problems) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, s)
}

func (p *problems) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

func (p *problems) event(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			p.add("console." + string(ev.Type) + ": " + argsText(ev.Args))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			desc, _, _ := strings.Cut(objectText(d.Exception), "\n    at ")
			text += " " + desc
		}
		p.add("exception: " + strings.TrimSpace(text))
	case *log.EventEntryAdded:
		// The browser's own errors: CSP violations, mixed content, blocked
		// frames. A failed load is also logged here ("Failed to load
		// resource"), but is reported once, with its URL, from the network
		// events below.
		if e := ev.Entry; e.Level == log.EntryLevelError && e.Source != log.EntrySourceNetwork {
			p.add(fmt.Sprintf("%s: %s", e.Source, e.Text))
		}
	case *network.EventRequestWillBeSent:
		// The browser asks for /favicon.ico by itself; a page without one
		// is not broken. An icon the page links to is checked like any
		// other asset.
		if ev.Initiator != nil && ev.Initiator.Type == network.InitiatorTypeOther && strings.HasSuffix(ev.Request.URL, "/favicon.ico") {
			return
		}
		p.mu.Lock()
		p.urls[ev.RequestID] = ev.Request.URL
		p.mu.Unlock()
	case *network.EventResponseReceived:
		p.failed(ev.RequestID, ev.Response.Status, "")
	case *network.EventResponseReceivedExtraInfo:
		// Also sent for a response the browser then refuses (a 404 page
		// served as text/plain for a stylesheet never gets a
		// ResponseReceived, only this and a cancelled load).
		p.failed(ev.RequestID, ev.StatusCode, "")
	case *network.EventLoadingFailed:
		// A cancelled load is the browser giving up on a response it
		// refused, reported above, or a navigation away: not news.
		if !ev.Canceled {
			why := ev.ErrorText
			if ev.BlockedReason != "" {
				why += " (blocked: " + string(ev.BlockedReason) + ")"
			}
			p.failed(ev.RequestID, 0, why)
		}
	}
}

// failed records a request that failed (status >= 400, or why), once per
// URL and outcome: a stylesheet asked for twice (the preload scanner, then
// the parser) is one problem.
func (p *problems) failed(id network.RequestID, status int64, why string) {
	if why == "" && status < 400 {
		return
	}
	p.mu.Lock()
	url, ok := p.urls[id]
	p.mu.Unlock()
	if !ok {
		return // not the page's (the browser's own favicon request)
	}
	if why == "" {
		why = fmt.Sprintf("HTTP %d", status)
	}
	msg := fmt.Sprintf("request failed: %s: %s", url, why)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.errs, msg) {
		p.errs = append(p.errs, msg)
	}
}

// argsText is a console call's arguments as the DevTools console shows
// them, roughly: strings as they are, other values by description.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, objectText(a))
	}
	return strings.Join(parts, " ")
}

func objectText(o *runtime.RemoteObject) string {
	if o.Type == runtime.RemoteObjectTypeString {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
	}
	switch {
	case o.Description != "":
		return o.Description
	case o.UnserializableValue != "":
		return string(o.UnserializableValue)
	case len(o.Value) > 0:
		return string(o.Value)
	}
	return string(o.Type)
}
