package httpserver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T, o Options) string {
	t.Helper()
	o.Listen = "127.0.0.1:0"
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + s.Addr()
}

func TestBodyLimit(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		w.Write(b)
	})
	url := start(t, Options{Handler: mux, MaxBodyBytes: 16, ReadTimeout: time.Second, WriteTimeout: time.Second})
	resp, err := http.Post(url+"/echo", "text/plain", strings.NewReader("small"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "small" {
		t.Errorf("small body: %d %q", resp.StatusCode, b)
	}
	resp, err = http.Post(url+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", 100)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", resp.StatusCode)
	}
}

func TestNewValidates(t *testing.T) {
	h := http.NewServeMux()
	for _, o := range []Options{
		{Handler: h, MaxBodyBytes: 1},
		{Listen: ":0", MaxBodyBytes: 1},
		{Listen: ":0", Handler: h},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted bad options", o)
		}
	}
}

func TestListenReportsAPortInUse(t *testing.T) {
	url := start(t, Options{Handler: http.NewServeMux(), MaxBodyBytes: 1})
	s, err := New(Options{Listen: strings.TrimPrefix(url, "http://"), Handler: http.NewServeMux(), MaxBodyBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err == nil || !strings.Contains(err.Error(), "failed to listen") {
		t.Errorf("second listener on the same port: %v", err)
	}
}
