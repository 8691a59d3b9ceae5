package slack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
)

// The files.uploadV2 flow in the fake Slack: files.getUploadURLExternal
// hands out an upload URL on the fake, the bytes are posted there
// (multipart, field "file"), and files.completeUploadExternal shares the
// file into a channel (and thread). Each step checks its request as Slack
// would; a completed upload is recorded with its bytes.

// uploaded is a file Vigil shared, as the fake Slack received it.
type uploaded struct {
	ID, Name, Title, Alt, Channel, Thread string
	Data                                  []byte
}

// pendingUpload is a file between getUploadURLExternal and complete.
type pendingUpload struct {
	name, alt string
	length    int
	data      []byte
	posted    bool
}

func (f *fakeSlack) handleUploads(c slacktest.Customize) {
	c.Handle("/files.getUploadURLExternal", f.getUploadURLExternal)
	c.Handle("/upload/", f.uploadBytes)
	c.Handle("/files.completeUploadExternal", f.completeUploadExternal)
}

func slackError(w http.ResponseWriter, code string) {
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
}

func (f *fakeSlack) getUploadURLExternal(w http.ResponseWriter, r *http.Request) {
	n := f.called("files.getUploadURLExternal")
	m := params(r)
	name := str(m, "filename")
	length, err := strconv.Atoi(str(m, "length"))
	switch {
	case !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer xoxb-") && !strings.HasPrefix(str(m, "token"), "xoxb-"):
		slackError(w, "not_authed")
		return
	case name == "":
		slackError(w, "invalid_arguments")
		return
	case err != nil || length < 1:
		slackError(w, "invalid_arguments")
		return
	}
	id := fmt.Sprintf("F%04d", n)
	f.mu.Lock()
	f.pending[id] = &pendingUpload{name: name, alt: str(m, "alt_txt"), length: length}
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "upload_url": f.srv.GetAPIURL() + "upload/" + id, "file_id": id})
}

func (f *fakeSlack) uploadBytes(w http.ResponseWriter, r *http.Request) {
	f.called("upload")
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	file, _, err := r.FormFile("file")
	if r.Method != http.MethodPost || err != nil {
		http.Error(w, "want a multipart POST with a file field", http.StatusBadRequest)
		return
	}
	data, _ := io.ReadAll(file)
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pending[id]
	if p == nil || p.posted || len(data) != p.length {
		http.Error(w, "unknown upload, or a length other than announced", http.StatusBadRequest)
		return
	}
	p.data, p.posted = data, true
	_, _ = io.WriteString(w, "OK - "+strconv.Itoa(len(data)))
}

func (f *fakeSlack) completeUploadExternal(w http.ResponseWriter, r *http.Request) {
	n := f.called("files.completeUploadExternal")
	f.mu.Lock()
	fail := f.failComplete
	f.mu.Unlock()
	if fail != nil {
		if code := fail(n); code != "" {
			slackError(w, code)
			return
		}
	}
	m := params(r)
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(str(m, "files")), &files); err != nil || len(files) == 0 {
		slackError(w, "invalid_arguments")
		return
	}
	channel := str(m, "channel_id")
	if channel == "" {
		// Without a channel Slack keeps the file private to the app:
		// never what Vigil means.
		slackError(w, "invalid_arguments")
		return
	}
	if code := f.shareRefusal(channel); code != "" {
		slackError(w, code)
		return
	}
	var done []uploaded
	f.mu.Lock()
	for _, fl := range files {
		p := f.pending[fl.ID]
		if p == nil || !p.posted {
			f.mu.Unlock()
			slackError(w, "file_not_found")
			return
		}
		delete(f.pending, fl.ID)
		done = append(done, uploaded{ID: fl.ID, Name: p.name, Title: fl.Title, Alt: p.alt, Channel: channel, Thread: str(m, "thread_ts"), Data: p.data})
	}
	f.uploads = append(f.uploads, done...)
	f.mu.Unlock()
	var out []map[string]any
	for _, u := range done {
		f.uploadCh <- u
		out = append(out, map[string]any{"id": u.ID, "title": u.Title})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "files": out})
}

// nextUpload waits for the next file Vigil shares.
func (f *fakeSlack) nextUpload(t *testing.T) uploaded {
	t.Helper()
	select {
	case u := <-f.uploadCh:
		return u
	case <-time.After(wait):
		t.Fatalf("Vigil shared no file within %s", wait)
		return uploaded{}
	}
}

// shareRefusal is Slack's error for sharing a file into channel, or "":
// the bot must be in the channel (a DM opened with conversations.open
// counts).
func (f *fakeSlack) shareRefusal(channel string) string {
	f.mu.Lock()
	c, known := f.chans[channel]
	f.mu.Unlock()
	if !known {
		switch {
		case channel == chanSecurity || channel == chanPublic:
			return ""
		case channel == chanOutside:
			return "not_in_channel"
		case strings.HasPrefix(channel, "D"):
			return ""
		}
		return "channel_not_found"
	}
	if !c.Member {
		return "not_in_channel"
	}
	return ""
}
