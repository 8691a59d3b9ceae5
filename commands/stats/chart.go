package stats

import (
	"bytes"
	"fmt"
	"image/color"

	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The chart's size: 8 × 6 inches, 800 × 600 pixels at 100 dpi.
const (
	chartW   = 8 * vg.Inch
	chartH   = 6 * vg.Inch
	chartDPI = 100
)

// severityStyle gives each severity one colour and dash, the same in every
// chart (the Okabe-Ito palette, readable with colour blindness).
var severityStyle = map[string]struct {
	c    color.RGBA
	dash []vg.Length
}{
	"critical": {color.RGBA{R: 0xd5, G: 0x5e, B: 0x00, A: 0xff}, nil},
	"high":     {color.RGBA{R: 0xe6, G: 0x9f, B: 0x00, A: 0xff}, []vg.Length{vg.Points(6), vg.Points(2)}},
	"medium":   {color.RGBA{R: 0x00, G: 0x72, B: 0xb2, A: 0xff}, []vg.Length{vg.Points(2), vg.Points(2)}},
	"low":      {color.RGBA{R: 0x00, G: 0x9e, B: 0x73, A: 0xff}, []vg.Length{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}},
	"unscored": {color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}, []vg.Length{vg.Points(1), vg.Points(3)}},
}

// ChartPNG draws the time to acknowledge (hours) and to fix (days), by
// month and severity, as an 800 × 600 PNG.
func ChartPNG(f Figures) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(chartW, chartH), vgimg.UseDPI(chartDPI), vgimg.UseBackgroundColor(color.White))
	if err := drawCharts(f, draw.New(c)); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("stats: chart png: %w", err)
	}
	return buf.Bytes(), nil
}

// ChartSVG draws the same chart as SVG with its fonts embedded, so the
// yearly report shows it the same everywhere and loads nothing.
func ChartSVG(f Figures) ([]byte, error) {
	c := vgsvg.NewWith(vgsvg.UseWH(chartW, chartH), vgsvg.EmbedFonts(true))
	if err := drawCharts(f, draw.New(c)); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("stats: chart svg: %w", err)
	}
	// The XML prolog is left out: the SVG is inlined into HTML.
	out := buf.Bytes()
	if i := bytes.Index(out, []byte("<svg")); i > 0 {
		out = out[i:]
	}
	return out, nil
}

// drawCharts draws the two panels, one above the other.
func drawCharts(f Figures, dc draw.Canvas) error {
	ack, err := monthPlot(f.Months, "Time to acknowledge (median, hours)", "hours", time.Hour,
		func(m Month) map[string]time.Duration { return m.AckMedian })
	if err != nil {
		return err
	}
	fix, err := monthPlot(f.Months, "Time to fix released (median, days)", "days", 24*time.Hour,
		func(m Month) map[string]time.Duration { return m.FixMedian })
	if err != nil {
		return err
	}
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10), PadY: vg.Points(12)}
	ack.Draw(tiles.At(dc, 0, 0))
	fix.Draw(tiles.At(dc, 0, 1))
	return nil
}

// monthPlot is one panel: a line per severity over the months, in unit.
func monthPlot(months []Month, title, yLabel string, unit time.Duration, pick func(Month) map[string]time.Duration) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = yLabel
	p.Y.Min = 0
	p.Legend.Top = true
	ticks := make([]plot.Tick, len(months))
	for i, m := range months {
		label := m.Start.Format("Jan")
		if i == 0 || m.Start.Month() == time.January {
			label = m.Start.Format("Jan 2006")
		}
		ticks[i] = plot.Tick{Value: float64(i), Label: label}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = -0.5, float64(len(months))-0.5
	if len(months) == 0 {
		p.X.Min, p.X.Max = 0, 1
	}
	drawn := false
	for _, sev := range Severities {
		var xys plotter.XYs
		for i, m := range months {
			if d, ok := pick(m)[sev]; ok {
				xys = append(xys, plotter.XY{X: float64(i), Y: float64(d) / float64(unit)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("stats: chart %s: %w", sev, err)
		}
		st := severityStyle[sev]
		line.Color, line.Dashes, line.Width = st.c, st.dash, vg.Points(1.5)
		points.Color = st.c
		p.Add(line, points)
		p.Legend.Add(sev, line, points)
		drawn = true
	}
	if !drawn {
		p.Y.Max = 1
		p.Title.Text += " — no data"
	}
	return p, nil
}
