package console_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/adapters/console"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
)

// filesConsole is a console whose files folder is dir, and what it prints.
func filesConsole(t *testing.T, dir string) (*console.Adapter, *bytes.Buffer) {
	t.Helper()
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: clock.NewFake(bottest.Start)})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c, err := console.New(console.Options{Engine: e, In: strings.NewReader(""), Out: &out, As: "admin", FilesDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return c, &out
}

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	img.Set(3, 3, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestConsoleWritesFilesAndPrintsTheirPaths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "files")
	c, out := filesConsole(t, dir)
	data := testPNG(t)
	msg := bot.Message{Text: "Figures", Files: []bot.File{{Name: "stats.png", MIME: "image/png", Alt: "Time to acknowledge", Data: data}}}
	for range 2 {
		if _, err := c.Send(context.Background(), bot.ToRoom(bot.ConsoleRoom, bot.ThreadRef{}), msg); err != nil {
			t.Fatal(err)
		}
	}
	first, second := filepath.Join(dir, "stats.png"), filepath.Join(dir, "stats-2.png")
	for _, p := range []string{first, second} {
		if !strings.Contains(out.String(), "📎 "+p+" — Time to acknowledge") {
			t.Errorf("the output does not print %s:\n%s", p, out)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("the second message overwrote the first, or nothing was written: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s holds other bytes than the file", p)
		}
		img, err := png.Decode(bytes.NewReader(got))
		if err != nil || img.Bounds().Dx() != 64 {
			t.Errorf("%s is not the PNG sent: %v", p, err)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is readable by others: %v", p, fi.Mode())
		}
	}
}

func TestConsoleFileNamesCannotEscapeTheFolder(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "files")
	c, out := filesConsole(t, dir)
	// A planted link under the name the file would get is not followed.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(root, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "passwd")); err != nil {
		t.Fatal(err)
	}
	files := []bot.File{
		{Name: "../../victim", Data: []byte("x")},
		{Name: "../../../etc/passwd", Data: []byte("y")},
		{Name: "\x1b]0;pwned\x07title\x1b[2J.png", Data: []byte("z")},
	}
	if _, err := c.Send(context.Background(), bot.ToRoom(bot.ConsoleRoom, bot.ThreadRef{}), bot.Message{Text: "x", Files: files}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep" {
		t.Fatalf("a file name wrote outside the folder or through a link: victim holds %q", got)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"]0;pwnedtitle[2J.png", "passwd", "passwd-2", "victim"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("files folder holds %q, want %q", names, want)
	}
	if strings.ContainsAny(out.String(), "\x1b\x07") {
		t.Errorf("a file name put control characters on the terminal: %q", out.String())
	}
	if n, _ := os.ReadDir(root); len(n) != 2 {
		t.Errorf("something was written beside the files folder: %d entries", len(n))
	}
}

func TestConsoleWithoutFilesFolderListsFiles(t *testing.T) {
	c, out := filesConsole(t, "")
	if _, err := c.Send(context.Background(), bot.ToRoom(bot.ConsoleRoom, bot.ThreadRef{}), bot.Message{Text: "x", Files: []bot.File{{Name: "a.png", Data: []byte("abc")}}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "📎 a.png (3 bytes, not saved: no files folder)") {
		t.Errorf("output: %q", out.String())
	}
}
