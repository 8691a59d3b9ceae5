package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/store/embedded"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A running Vigil answers /healthz, /readyz and /metrics on http.listen,
// and `vigil healthcheck` asks it; a stop ends it cleanly.
func TestHTTPEndpointsAndHealthcheck(t *testing.T) {
	addr := freeAddr(t)
	env := map[string]string{"VIGIL_HTTP_LISTEN": addr}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errb bytes.Buffer
	data := t.TempDir()
	env["VIGIL_INSTANCE"] = "replica-under-test"
	go func() {
		done <- run(ctx, runOptions{Data: data, Console: true}, streams{In: r, Out: &out, Err: &errb}, lookup)
	}()
	get := func(path string) (int, string) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := http.Get("http://" + addr + path)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v", path, err)
			}
			time.Sleep(20 * time.Millisecond) // waiting for the listener, not a deadline
		}
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if _, err := io.WriteString(w, "/sec help\n"); err != nil {
		t.Fatal(err)
	}
	code, body := get("/metrics")
	if code != 200 || !strings.Contains(body, "vigil_store_up 1") || !strings.Contains(body, `vigil_adapter_connected{adapter="console"} 1`) {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	var hout, herr bytes.Buffer
	if code := Main([]string{"healthcheck", "--ready"}, streams{Out: &hout, Err: &herr}, lookup); code != 0 || strings.TrimSpace(hout.String()) != "ready" {
		t.Errorf("healthcheck --ready: %d %q %q", code, hout.String(), herr.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Vigil did not stop")
	}
	if code := Main([]string{"healthcheck", "--addr", addr}, streams{Out: io.Discard, Err: io.Discard}, lookup); code != 1 {
		t.Errorf("healthcheck against a stopped Vigil: exit %d, want 1", code)
	}
	// A clean stop released the scheduler lease, so another replica can
	// take over at once instead of waiting for it to run out.
	st, err := embedded.Open(filepath.Join(data, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if holder, err := st.LeaseHolder(context.Background(), "scheduler", time.Now()); err != nil || holder != "" {
		t.Errorf("after a clean stop the lease is held by %q (%v)", holder, err)
	}
}

// The deployment files say what the docs promise: two replicas with probes
// on the endpoints Vigil serves, secrets from files, Redis with the
// append-only file, and only environment variables Vigil reads.
func TestDeploymentFiles(t *testing.T) {
	root := filepath.Join("..", "..")
	docs := func(path string) []map[string]any {
		data, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		var out []map[string]any
		for {
			var d map[string]any
			if err := dec.Decode(&d); err == io.EOF {
				return out
			} else if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out = append(out, d)
		}
	}
	var deployment map[string]any
	for _, d := range docs("deploy/kubernetes/vigil.yaml") {
		if d["kind"] == "Deployment" {
			deployment = d
		}
	}
	if deployment == nil {
		t.Fatal("no Deployment in deploy/kubernetes/vigil.yaml")
	}
	spec := deployment["spec"].(map[string]any)
	if spec["replicas"] != 2 {
		t.Errorf("replicas = %v, want 2", spec["replicas"])
	}
	container := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	probe := func(name string) string {
		return container[name].(map[string]any)["httpGet"].(map[string]any)["path"].(string)
	}
	if probe("livenessProbe") != "/healthz" || probe("readinessProbe") != "/readyz?exclude=chat" {
		t.Errorf("probes: %s, %s", probe("livenessProbe"), probe("readinessProbe"))
	}
	known := strings.Join([]string{mainUsage, readFile(t, filepath.Join(root, "config", "example.yaml"))}, "\n")
	for _, e := range container["env"].([]any) {
		name := e.(map[string]any)["name"].(string)
		if !strings.Contains(known, strings.TrimSuffix(name, "_FILE")) {
			t.Errorf("the Deployment sets %s, which Vigil does not read", name)
		}
	}
	compose := docs("docker-compose.yml")[0]["services"].(map[string]any)
	redisCmd := strings.Join(toStrings(compose["redis"].(map[string]any)["command"]), " ")
	if !strings.Contains(redisCmd, "--appendonly yes") {
		t.Errorf("compose Redis without AOF: %s", redisCmd)
	}
	if _, ok := compose["vigil"].(map[string]any)["healthcheck"]; !ok {
		t.Error("compose vigil has no healthcheck")
	}
	unit := readFile(t, filepath.Join(root, "deploy", "systemd", "vigil.service"))
	for _, w := range []string{"ExecStart=/usr/local/bin/vigil --config", "KillSignal=SIGTERM", "NoNewPrivileges=yes"} {
		if !strings.Contains(unit, w) {
			t.Errorf("systemd unit lacks %q", w)
		}
	}
	dockerfile := readFile(t, filepath.Join(root, "deploy", "Dockerfile"))
	for _, w := range []string{"CGO_ENABLED=0", "USER nonroot", "distroless/static"} {
		if !strings.Contains(dockerfile, w) {
			t.Errorf("Dockerfile lacks %q", w)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
