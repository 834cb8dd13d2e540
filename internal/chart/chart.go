// Package chart draws the partnership pack's charts: horizontal bar charts,
// grouped or stacked, laid out once as rectangles, lines and text, and
// written as SVG (for the pages) or handed to any other drawer (the PDF).
// No script, no styles: presentation attributes only, so a page's strict
// Content-Security-Policy allows them, and a title and description make
// each an image with a name; the table beneath it is its accessible
// equivalent.
package chart

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Palette is the series' colours, in order: GOV.UK's blue, orange, green,
// purple, dark grey, red, brown and turquoise. A chart with more series
// than colours repeats them: the pack shows only the categories of the
// period's cases, and its table is the exact account.
var Palette = []string{"#1d70b8", "#f47738", "#00703c", "#912b88", "#505a5f", "#d4351c", "#b58840", "#28a197"}

// Series is one set of values, one per row.
type Series struct {
	Name   string
	Values []float64
}

// Bars is a horizontal bar chart: a bar (or, grouped, one per series) for
// each row.
type Bars struct {
	// ID makes the title's and description's element ids unique on a page.
	ID    string
	Title string
	Desc  string
	Rows  []string
	// Series: several are drawn side by side, or one after the other along
	// the bar when Stacked.
	Series  []Series
	Stacked bool
	// Unit follows the axis maximum ("days", "cases").
	Unit string
}

// Rect, Line and Text are what a chart is drawn with, in a box Width wide
// and Height high (points or pixels: the drawer's unit).
type Rect struct {
	X, Y, W, H float64
	Fill       string
}

// Line is a rule (the axis).
type Line struct {
	X1, Y1, X2, Y2 float64
	Stroke         string
}

// Text is a label; Anchor is "start", "middle" or "end".
type Text struct {
	X, Y   float64
	S      string
	Size   float64
	Anchor string
	Fill   string
}

// Drawing is a chart laid out.
type Drawing struct {
	Width, Height float64
	Rects         []Rect
	Lines         []Line
	Texts         []Text
}

// Layout sizes.
const (
	Width     = 640.0
	labelW    = 230.0
	barH      = 14.0
	rowGap    = 8.0
	legendH   = 22.0
	axisH     = 24.0
	fontSize  = 12.0
	maxLabel  = 30
	maxLegend = 80
	rightPad  = 48.0
	textColor = "#0b0c0c"
)

// Layout lays the chart out.
func (b Bars) Layout() Drawing {
	d := Drawing{Width: Width}
	perRow := len(b.Series)
	if b.Stacked || perRow == 0 {
		perRow = 1
	}
	rowH := float64(perRow)*barH + rowGap
	top := 0.0
	// Legend: one swatch and name per series, wrapping.
	if len(b.Series) > 1 {
		x, y := 0.0, 4.0
		for i, s := range b.Series {
			name := shortenTo(s.Name, maxLegend)
			w := 14 + 6 + float64(len([]rune(name)))*7 + 16
			if x+w > Width && x > 0 {
				x, y = 0, y+legendH
			}
			d.Rects = append(d.Rects, Rect{X: x, Y: y, W: 14, H: 14, Fill: color(i)})
			d.Texts = append(d.Texts, Text{X: x + 20, Y: y + 11.5, S: name, Size: fontSize, Anchor: "start", Fill: textColor})
			x += w
		}
		top = y + legendH
	}
	max := 0.0
	for r := range b.Rows {
		total := 0.0
		for _, s := range b.Series {
			v := value(s, r)
			if b.Stacked {
				total += v
			} else if v > max {
				max = v
			}
		}
		if b.Stacked && total > max {
			max = total
		}
	}
	scaleMax := niceMax(max)
	plotW := Width - labelW - rightPad
	scale := plotW / scaleMax
	for r, label := range b.Rows {
		y := top + float64(r)*rowH
		d.Texts = append(d.Texts, Text{X: labelW - 8, Y: y + float64(perRow)*barH/2 + 4, S: shorten(label), Size: fontSize, Anchor: "end", Fill: textColor})
		x := labelW
		total := 0.0
		for i, s := range b.Series {
			v := value(s, r)
			w := v * scale
			if b.Stacked {
				if w > 0 {
					d.Rects = append(d.Rects, Rect{X: x, Y: y, W: w, H: barH, Fill: color(i)})
				}
				x += w
				total += v
				continue
			}
			by := y + float64(i)*barH
			if w > 0 {
				d.Rects = append(d.Rects, Rect{X: labelW, Y: by, W: w, H: barH - 2, Fill: color(i)})
			}
			d.Texts = append(d.Texts, Text{X: labelW + w + 4, Y: by + barH - 4, S: Number(v), Size: fontSize - 2, Anchor: "start", Fill: textColor})
		}
		if b.Stacked {
			d.Texts = append(d.Texts, Text{X: x + 4, Y: y + barH - 3, S: Number(total), Size: fontSize - 2, Anchor: "start", Fill: textColor})
		}
	}
	axisY := top + float64(len(b.Rows))*rowH
	d.Lines = append(d.Lines, Line{X1: labelW, Y1: top - 2, X2: labelW, Y2: axisY, Stroke: textColor},
		Line{X1: labelW, Y1: axisY, X2: labelW + plotW, Y2: axisY, Stroke: textColor})
	for i := 0; i <= 4; i++ {
		v := scaleMax * float64(i) / 4
		x := labelW + v*scale
		d.Lines = append(d.Lines, Line{X1: x, Y1: axisY, X2: x, Y2: axisY + 4, Stroke: textColor})
		s := Number(v)
		if i == 4 && b.Unit != "" {
			s += " " + b.Unit
		}
		d.Texts = append(d.Texts, Text{X: x, Y: axisY + 17, S: s, Size: fontSize - 2, Anchor: "middle", Fill: textColor})
	}
	d.Height = axisY + axisH
	return d
}

func value(s Series, row int) float64 {
	if row < len(s.Values) && !math.IsNaN(s.Values[row]) && s.Values[row] > 0 {
		return s.Values[row]
	}
	return 0
}

func color(i int) string { return Palette[i%len(Palette)] }

// niceMax is the axis maximum: at least 4, four steps of a whole number up
// to 40, of a round number above.
func niceMax(v float64) float64 {
	if v <= 4 {
		return 4
	}
	if v <= 40 {
		return 4 * math.Ceil(v/4)
	}
	step := v / 4
	mag := math.Pow(10, math.Floor(math.Log10(step)))
	for _, m := range []float64{1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 8, 10} {
		if m*mag >= step {
			return 4 * m * mag
		}
	}
	return 40 * mag
}

func shorten(s string) string { return shortenTo(s, maxLabel) }

func shortenTo(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// Number is a value as a chart labels it: whole, or to one decimal place.
func Number(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// SVG is the chart as an inline SVG image: its title and description name
// it for assistive technology.
func (b Bars) SVG() template.HTML {
	d := b.Layout()
	esc := template.HTMLEscapeString
	id := esc(b.ID)
	var w strings.Builder
	fmt.Fprintf(&w, `<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img" viewBox="0 0 %s %s" width="100%%" aria-labelledby="%s-title %s-desc" font-family="Arial, Helvetica, sans-serif">`,
		num(d.Width), num(d.Height), id, id)
	fmt.Fprintf(&w, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, esc(b.Title), id, esc(b.Desc))
	for _, r := range d.Rects {
		fmt.Fprintf(&w, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`, num(r.X), num(r.Y), num(r.W), num(r.H), esc(r.Fill))
	}
	for _, l := range d.Lines {
		fmt.Fprintf(&w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, num(l.X1), num(l.Y1), num(l.X2), num(l.Y2), esc(l.Stroke))
	}
	for _, t := range d.Texts {
		fmt.Fprintf(&w, `<text x="%s" y="%s" font-size="%s" text-anchor="%s" fill="%s">%s</text>`, num(t.X), num(t.Y), num(t.Size), esc(t.Anchor), esc(t.Fill), esc(t.S))
	}
	w.WriteString(`</svg>`)
	return template.HTML(w.String()) // every value above is escaped
}

func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
