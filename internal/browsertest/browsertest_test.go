package browsertest_test

import (
	"bytes"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/browsertest"
)

const cleanPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>All good</title>
<style>body{font-family:sans-serif;background:#fff}</style></head>
<body><h1>All good</h1><p>Nothing wrong here.</p>
<script>console.log("just a log line"); console.warn("a warning is not an error");</script>
</body></html>`

const brokenPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Broken</title>
<link rel="stylesheet" href="/missing.css"></head>
<body><h1>Broken</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
<script>console.error("chart data missing", 42);</script>
<script>null.boom();</script>
</body></html>`

func site() *httptest.Server {
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(body))
		}
	}
	mux.HandleFunc("GET /clean", page(cleanPage))
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "img-src 'none'")
		page(brokenPage)(w, r)
	})
	// Anything else (the stylesheet) is a 404.
	return httptest.NewServer(mux)
}

func TestACleanPageReportsNoErrorsAndAScreenshot(t *testing.T) {
	t.Setenv("VIGIL_TEST_ARTIFACTS", t.TempDir())
	srv := site()
	defer srv.Close()
	p := browsertest.Visit(t, srv.URL+"/clean", "browsertest-clean")
	if p.Title != "All good" {
		t.Errorf("title = %q", p.Title)
	}
	if len(p.ConsoleErrors) != 0 {
		t.Errorf("a clean page reported errors: %q", p.ConsoleErrors)
	}
	if filepath.Dir(p.ScreenshotPath) != browsertest.ArtifactsDir(t) {
		t.Errorf("screenshot at %s, not in the artifacts directory", p.ScreenshotPath)
	}
	data, err := os.ReadFile(p.ScreenshotPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
		t.Errorf("screenshot is %dx%d, want the 1280x900 window", b.Dx(), b.Dy())
	}
}

func TestConsoleErrorsExceptionsAndMissingAssetsAreReported(t *testing.T) {
	t.Setenv("VIGIL_TEST_ARTIFACTS", t.TempDir())
	srv := site()
	defer srv.Close()
	p := browsertest.Visit(t, srv.URL+"/broken", "browsertest-broken")
	all := strings.Join(p.ConsoleErrors, "\n")
	for _, want := range []string{
		"console.error: chart data missing 42",
		"exception: Uncaught TypeError",
		"request failed: " + srv.URL + "/missing.css: HTTP 404",
		"Content Security Policy",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q; got:\n%s", want, all)
		}
	}
	// The stylesheet is asked for twice at times (preload scanner, then
	// parser) and its 404 arrives in two events: still one line.
	if n := strings.Count(all, "request failed: "+srv.URL+"/missing.css"); n != 1 {
		t.Errorf("the missing stylesheet is reported %d times:\n%s", n, all)
	}
	// The browser's own favicon request is not the page's fault.
	if strings.Contains(all, "favicon") {
		t.Errorf("the browser's favicon request is reported:\n%s", all)
	}
}

func TestAFileURLLoads(t *testing.T) {
	t.Setenv("VIGIL_TEST_ARTIFACTS", t.TempDir())
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, []byte(cleanPage), 0o644); err != nil {
		t.Fatal(err)
	}
	p := browsertest.Visit(t, "file://"+path, "browsertest-file")
	if p.Title != "All good" || len(p.ConsoleErrors) != 0 {
		t.Errorf("title %q, errors %q", p.Title, p.ConsoleErrors)
	}
}

func TestArtifactsDirDefaultsToTheRepository(t *testing.T) {
	t.Setenv("VIGIL_TEST_ARTIFACTS", "")
	dir := browsertest.ArtifactsDir(t)
	if filepath.Base(dir) != "test-artifacts" {
		t.Errorf("artifacts in %s", dir)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "go.mod")); err != nil {
		t.Errorf("%s is not at the repository's root: %v", dir, err)
	}
}
