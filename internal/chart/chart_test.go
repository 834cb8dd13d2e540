package chart

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// The SVG is well-formed XML, named by its title and description, with a
// bar per non-zero value whose width is in proportion, and text escaped.
func TestBarsSVG(t *testing.T) {
	b := Bars{ID: "c1", Title: "Escalations <by> agency", Desc: "Raised & received", Rows: []string{"Police & <crime>", "Health", "None"},
		Series: []Series{{Name: "This period", Values: []float64{8, 2, 0}}, {Name: "A year earlier", Values: []float64{4, 0, 0}}}}
	svg := string(b.SVG())
	dec := xml.NewDecoder(strings.NewReader(svg))
	rects := 0
	var widths []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
			for _, a := range se.Attr {
				if a.Name.Local == "width" {
					widths = append(widths, a.Value)
				}
			}
		}
	}
	// 2 legend swatches, then bars for 8, 4 and 2 (zeros draw nothing).
	if rects != 5 {
		t.Errorf("%d rects, want 5:\n%s", rects, svg)
	}
	// The axis runs to 8: 8 fills the plot (362 wide), 4 half, 2 a quarter.
	if strings.Join(widths[2:], " ") != "362 181 90.5" {
		t.Errorf("bar widths %v", widths[2:])
	}
	for _, want := range []string{`role="img"`, `aria-labelledby="c1-title c1-desc"`, `<title id="c1-title">Escalations &lt;by&gt; agency</title>`,
		`<desc id="c1-desc">Raised &amp; received</desc>`, `Police &amp; &lt;crime&gt;`} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %s", want)
		}
	}
	if strings.Contains(svg, "style=") || strings.Contains(svg, "<script") {
		t.Error("SVG has a style attribute or script: a strict CSP would block it")
	}
}

func TestStackedAndScale(t *testing.T) {
	b := Bars{ID: "s", Rows: []string{"Apr", "May"}, Stacked: true,
		Series: []Series{{Name: "a", Values: []float64{3, 0}}, {Name: "b", Values: []float64{2, 1}}}}
	d := b.Layout()
	// Legend swatches 2, then Apr: 3 and 2 end to end, May: 1.
	if len(d.Rects) != 5 || d.Rects[3].X != d.Rects[2].X+d.Rects[2].W || d.Rects[2].Y != d.Rects[3].Y {
		t.Errorf("stacked rects %+v", d.Rects)
	}
	for _, tc := range []struct{ in, want float64 }{{0, 4}, {3, 4}, {5, 8}, {9, 12}, {17, 20}, {40, 40}, {41, 50}, {130, 160}, {999, 1000}, {0.5, 4}} {
		if got := niceMax(tc.in); got != tc.want {
			t.Errorf("niceMax(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if Number(2.25) != "2.2" && Number(2.25) != "2.3" || Number(3) != "3" {
		t.Errorf("Number: %s %s", Number(2.25), Number(3))
	}
	if got := shorten(strings.Repeat("x", 40)); len([]rune(got)) != maxLabel {
		t.Errorf("shorten: %q", got)
	}
	// Empty: an axis, no bars, no NaN.
	e := Bars{ID: "e", Title: "None"}.SVG()
	if strings.Contains(string(e), "NaN") || strings.Contains(string(e), "Inf") {
		t.Errorf("empty chart: %s", e)
	}
}
