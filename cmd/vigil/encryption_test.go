package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/config"
	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store/encrypted"
)

// The canaries: each piece of a report that is embargoed carries one.
// Every one contains "zqxcanary", which the raw dumps are searched for.
const (
	canaryTitle      = "Zqxcanary-title heap overflow"
	canaryDesc       = "zqxcanary-desc the parser writes past the buffer"
	canaryReporter   = "Zqxcanary-reporter Name"
	canaryEmail      = "zqxcanary.mail@example.org"
	canaryAttachment = "zqxcanary-attach proof of concept bytes"
	canaryMsgID      = "<zqxcanary-msgid@example.org>"
	canaryAPITitle   = "zqxcanary-apititle SSRF in webhooks"
	canaryIdem       = "zqxcanary-idem-1"
	canaryIncident   = "zqxcanary-incident tokens leaked"
	canaryWarRoom    = "zqxcanary-warroom we rotated the signing key"
	canaryDraft      = "zqxcanary-draft half-typed title"
)

// unencryptedWarning is the start-up warning of a store without a key.
const unencryptedWarning = "embargoed report details are stored in the clear"

// attachmentB64 is how the attachment's first 36 bytes look in a JSON
// document (base64; a prefix of a multiple of 3 bytes encodes the same
// whatever follows).
var attachmentB64 = base64.StdEncoding.EncodeToString([]byte(canaryAttachment[:36]))

// crypt1 is the key the reports are filed under, crypt2 the one
// rotate-key moves them to.
const (
	crypt1 = "crypt1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	crypt2 = "crypt2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
)

// With a key set, reports filed through the real intake (mail with an
// attachment, the API), acknowledged by mail, a war room with a pinned
// message and a half-filled form leave no canary in a raw dump of the
// store, while reading through the keys finds every one. A wrong key is
// refused at start by id; after rotate-key and removing the old key every
// report still reads. On the embedded file and on Redis.
func TestEncryptionAtRest(t *testing.T) {
	for _, backend := range []string{"embedded", "redis"} {
		t.Run(backend, func(t *testing.T) {
			data := t.TempDir()
			env := map[string]string{}
			var dump func(t *testing.T) map[string][]byte
			if backend == "embedded" {
				dump = func(t *testing.T) map[string][]byte { return dumpBolt(t, filepath.Join(data, "vigil.db")) }
			} else {
				srv := testredis.Start(t)
				prefix := srv.Prefix(t)
				env["VIGIL_REDIS_URL"], env["VIGIL_REDIS_PREFIX"] = srv.URL(), prefix
				dump = func(t *testing.T) map[string][]byte { return dumpRedis(t, srv.URL(), prefix) }
			}
			fileCanaries(t, data, env)
			raw := dump(t)
			checkNoCanary(t, raw)
			checkCollectionsInTable(t, raw)
			if !dumpContains(raw, `crypt1`) {
				t.Error("no record names its key crypt1: was anything encrypted?")
			}

			// The wrong key: refused at start, naming the key needed.
			env["VIGIL_STORE_ENCRYPTION_KEYS"] = crypt2
			code, _, errOut := vigil(t, "/sec report list\n", env, "--console", "--data", data)
			if code != 1 || !strings.Contains(errOut, `"crypt1"`) || strings.Contains(errOut, "AQEBAQ") {
				t.Fatalf("wrong key: exit %d, %q: want 1 and a message naming crypt1", code, errOut)
			}
			// No key at all: refused too.
			delete(env, "VIGIL_STORE_ENCRYPTION_KEYS")
			if code, _, errOut := vigil(t, "", env, "--console", "--data", data); code != 1 || !strings.Contains(errOut, `"crypt1"`) {
				t.Fatalf("no key: exit %d, %q", code, errOut)
			}

			// Rotate to crypt2, then drop crypt1: every report reads.
			env["VIGIL_STORE_ENCRYPTION_KEYS"] = crypt2 + "," + crypt1
			code, out, errOut := vigil(t, "", env, "store", "rotate-key", "--data", data)
			if code != 0 || !strings.Contains(out, "reports: 2/2 done") || !strings.Contains(out, `every record is now under "crypt2"`) {
				t.Fatalf("rotate-key: exit %d\n%s\n%s", code, out, errOut)
			}
			t.Logf("rotate-key said:\n%s", out)
			raw = dump(t)
			checkNoCanary(t, raw)
			if dumpContains(raw, "crypt1") {
				t.Error("a record is still under crypt1 after rotate-key")
			}
			env["VIGIL_STORE_ENCRYPTION_KEYS"] = crypt2
			script := "/sec report list --all\n/sec report show VIG-2026-1\n/sec report show VIG-2026-1 --full\n/sec report show VIG-2026-2 --full\n/sec incident list\n/sec audit\n"
			code, out, errOut = vigil(t, script, env, "--console", "--data", data, "--clock", "2026-01-05T11:00:00Z")
			if code != 0 {
				t.Fatalf("after rotation with crypt2 only: exit %d: %s", code, errOut)
			}
			for _, want := range []string{canaryTitle, canaryDesc, canaryReporter, canaryAPITitle, canaryIncident, "report.received"} {
				if !strings.Contains(out, want) {
					t.Errorf("after rotation, %q does not read:\n%s", want, out)
				}
			}
		})
	}
}

// fileCanaries runs Vigil in-process with crypt1 and files everything
// that carries a canary.
func fileCanaries(t *testing.T, data string, env map[string]string) {
	out, relayAddr := startRelay(t)
	httpAddr, smtpAddr := freeAddr(t), freeAddr(t)
	cfg := fmt.Sprintf(`
http: {listen: %q}
people:
  - {name: bob, roles: [responder, admin]}
reports:
  api_token: api-secret
email:
  smtp_receiver: {listen: %q, recipients: [security@example.org]}
  outbound: {addr: %q, tls: none, from: security@example.org}
store:
  encryption:
    keys: %q
`, httpAddr, smtpAddr, relayAddr, crypt1)
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	writeFile(t, path, cfg)
	o := runOptions{ConfigPath: path, Data: data, As: "bob", Clock: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)}
	sess := startSession(t, o, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, httpAddr)
	say, console := sess.say, sess.console

	mail := "From: " + canaryReporter + " <" + canaryEmail + ">\r\nTo: security@example.org\r\nSubject: " + canaryTitle + "\r\n" +
		"Message-ID: " + canaryMsgID + "\r\nDate: Mon, 05 Jan 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=B\r\n\r\n" +
		"--B\r\nContent-Type: text/plain\r\n\r\n" + canaryDesc + "\r\n" +
		"--B\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"poc.txt\"\r\n\r\n" + canaryAttachment + "\r\n--B--\r\n"
	if err := smtp.SendMail(smtpAddr, nil, canaryEmail, []string{"security@example.org"}, []byte(mail)); err != nil {
		t.Fatalf("SMTP: %v", err)
	}
	body := fmt.Sprintf(`{"title":%q,"description":"zqxcanary-apidesc","reporter":{"name":"Zqxcanary-apireporter","email":"zqxcanary.api@example.org"}}`, canaryAPITitle)
	req, _ := http.NewRequest("POST", "http://"+httpAddr+"/api/v1/reports", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer api-secret")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", canaryIdem)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("intake API: %v %v", resp, err)
	}
	resp.Body.Close()
	say(":advance 1m")
	waitFor(t, "both reports in the room", func() bool { return strings.Contains(console.String(), "VIG-2026-2") })

	say("/sec report ack VIG-2026-1")
	say(":advance 1m")
	waitFor(t, "the acknowledgement mail", func() bool { return len(out.all()) == 1 })
	if !strings.Contains(out.all()[0], canaryEmail) {
		t.Errorf("the acknowledgement did not go to the reporter:\n%s", out.all()[0])
	}

	say(`/sec incident start "` + canaryIncident + `"`)
	say(canaryWarRoom)
	say(":react 1 📌")
	say("/sec incident timeline")
	waitFor(t, "the pinned war-room message", func() bool {
		return strings.Count(console.String(), canaryWarRoom) >= 2
	})
	say("/sec report new")
	say(canaryDraft)
	sess.end()
	if strings.Contains(sess.errb.String(), unencryptedWarning) {
		t.Error("warned that details are in the clear, with a key set")
	}
	checkReadableWithKey(t, data, env)
}

// checkReadableWithKey reads the store through crypt1 and finds every
// canary in it: the raw dump's silence means encryption, not absence.
func checkReadableWithKey(t *testing.T, data string, env map[string]string) {
	t.Helper()
	cfg, err := loadConfig(runOptions{Data: data}, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store.Encryption.Keys = config.NewSecret(crypt1)
	ctx := context.Background()
	st, err := openStore(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var all bytes.Buffer
	for coll, tr := range encrypted.Collections {
		if tr == encrypted.Blind || coll == "vigil.encryption" {
			continue // not listable; the store key, reserved
		}
		ids, err := st.List(ctx, coll)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			d, err := st.Get(ctx, coll, id)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&all, "%s/%s %s\n", coll, id, d.Data)
		}
	}
	entries, err := st.ReadLog(ctx, "audit", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		all.Write(e.Data)
	}
	text := all.String()
	for _, c := range []string{canaryTitle, canaryDesc, canaryReporter, canaryEmail, canaryAPITitle, canaryIncident, canaryWarRoom, canaryDraft,
		attachmentB64} {
		if !strings.Contains(text, c) {
			t.Errorf("%q is not in the store at all: the raw check would prove nothing", c)
		}
	}
}

// checkNoCanary fails for any key or value of the dump that holds a
// canary, in the clear or as the base64 the attachment is kept in.
func checkNoCanary(t *testing.T, dump map[string][]byte) {
	t.Helper()
	needles := [][]byte{[]byte("zqxcanary"), []byte(attachmentB64)}
	if len(dump) == 0 {
		t.Fatal("empty dump")
	}
	for k, v := range dump {
		for _, n := range needles {
			if bytes.Contains(bytes.ToLower([]byte(k)), n) || bytes.Contains(bytes.ToLower(v), bytes.ToLower(n)) {
				t.Errorf("a canary is stored in the clear at %s: %.300q", k, v)
			}
		}
	}
}

func dumpContains(dump map[string][]byte, s string) bool {
	for k, v := range dump {
		if strings.Contains(k, s) || bytes.Contains(v, []byte(s)) {
			return true
		}
	}
	return false
}

// checkCollectionsInTable fails for a document collection the decision
// table does not name: it would be encrypted but never rotated.
func checkCollectionsInTable(t *testing.T, dump map[string][]byte) {
	t.Helper()
	n := 0
	for k := range dump {
		coll, ok := strings.CutPrefix(k, "collection ")
		if !ok {
			continue
		}
		n++
		if _, ok := encrypted.Collections[coll]; !ok {
			t.Errorf("collection %q is not in store/encrypted's table (Collections)", coll)
		}
	}
	if n < 5 {
		t.Errorf("only %d collections in the dump", n)
	}
}

// dumpBolt reads the bbolt file as raw bytes (every page, free ones too)
// and, opened read-only, names its document collections.
func dumpBolt(t *testing.T, path string) map[string][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{"file " + path: b}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("docs")).ForEachBucket(func(k []byte) error {
			out["collection "+string(k)] = nil
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dumpRedis reads every key under prefix with the read of its type, and
// its DUMP serialisation; keys of documents also name their collection.
func dumpRedis(t *testing.T, url, prefix string) map[string][]byte {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	out := map[string][]byte{}
	iter := c.Scan(ctx, 0, "{"+prefix+"}*", 500).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		var v bytes.Buffer
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "string":
			v.WriteString(c.Get(ctx, k).Val())
		case "hash":
			for f, x := range c.HGetAll(ctx, k).Val() {
				v.WriteString(f + "=" + x + "\n")
			}
		case "list":
			v.WriteString(strings.Join(c.LRange(ctx, k, 0, -1).Val(), "\n"))
		case "set":
			v.WriteString(strings.Join(c.SMembers(ctx, k).Val(), "\n"))
		case "zset":
			v.WriteString(strings.Join(c.ZRange(ctx, k, 0, -1).Val(), "\n"))
		case "stream":
			for _, m := range c.XRange(ctx, k, "-", "+").Val() {
				fmt.Fprintf(&v, "%s %v\n", m.ID, m.Values)
			}
		default:
			t.Errorf("key %s of type %s: the dump does not read it", k, typ)
		}
		v.WriteString(c.Dump(ctx, k).Val())
		out[k] = v.Bytes()
		if rest, ok := strings.CutPrefix(k, "{"+prefix+"}:doc:"); ok {
			coll, _, _ := strings.Cut(rest, ":")
			out["collection "+strings.NewReplacer("%3A", ":", "%25", "%").Replace(coll)] = nil
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Without a key Vigil works, and says once at start that embargoed
// details are stored in the clear.
func TestWarnsOnceWithoutKey(t *testing.T) {
	code, out, errOut := vigil(t, "/sec whoami\n", nil, "--console", "--data", t.TempDir())
	if code != 0 || !strings.Contains(out, "admin") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if n := strings.Count(errOut, unencryptedWarning); n != 1 {
		t.Errorf("warned %d times:\n%s", n, errOut)
	}
}

// `vigil store`: gen-key prints a key the configuration accepts, --help
// answers, mistakes are usage errors, and rotate-key without a key says
// what to do.
func TestStoreCommandLine(t *testing.T) {
	code, out, _ := vigil(t, "", nil, "store", "gen-key", "--id", "k2026a")
	keys, err := encrypted.ParseKeys(strings.TrimSpace(out))
	if code != 0 || err != nil || len(keys) != 1 || keys[0].ID != "k2026a" {
		t.Errorf("gen-key: exit %d, %q, %v", code, out, err)
	}
	if code, out, _ := vigil(t, "", nil, "store", "rotate-key", "--help"); code != 0 || !strings.Contains(out, "vigil store rotate-key [--config FILE] [--data DIR]") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
	for _, args := range [][]string{{"store"}, {"store", "rotate"}, {"store", "gen-key", "--id", "no spaces allowed"}, {"store", "rotate-key", "extra"}} {
		if code, _, errOut := vigil(t, "", nil, args...); code != 2 || !strings.Contains(errOut, "Usage:") {
			t.Errorf("%q: exit %d, %q: want a usage error", args, code, errOut)
		}
	}
	code, _, errOut := vigil(t, "", nil, "store", "rotate-key", "--data", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "store.encryption.keys is empty") {
		t.Errorf("rotate-key without a key: exit %d, %q", code, errOut)
	}
}
