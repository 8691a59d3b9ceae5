package report

import (
	"embed"

	"github.com/vigil-sec/vigil/bot/texts"
)

// mailTexts are the bodies of the mails to reporters and operators, one
// template file each under templates/.
//
//go:embed templates/*.tmpl
var mailFiles embed.FS

var mailTexts = texts.MustParse(mailFiles, "templates/*.tmpl")

// reporterMail fills the mails to a reporter (acknowledged, accepted,
// rejected). Mail is not chat: every field is raw text, a string and never
// a bot.Untrusted, whose markers would end up in the mail.
type reporterMail struct {
	Name         string // "there" when the report has no name
	ID           string
	Title        string
	Credit       bool // the reporter asked to be credited in the advisory
	RejectReason string
}

// operatorMail fills the forward of a report to an operator: the report
// itself, raw.
type operatorMail struct {
	Operator    string
	Domain      string
	ID          string
	Title       string
	Received    string
	Description string
}
