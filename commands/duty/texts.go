package duty

import (
	"embed"

	"github.com/vigil-sec/vigil/bot/texts"
)

// dutyTexts are the rotation's long chat texts, one template file each
// under templates/.
//
//go:embed templates/*.tmpl
var dutyFiles embed.FS

var dutyTexts = texts.MustParse(dutyFiles, "templates/*.tmpl")

// changedDM fills the DM to someone whose shifts moved.
type changedDM struct {
	Rotation string
	Why      string
	Shifts   []shiftSpan // the first few
	More     int         // how many more are not listed
}

type shiftSpan struct {
	From, To string // "now" when the shift has begun
}
