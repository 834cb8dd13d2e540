package web

import (
	"bytes"
	"strconv"
	"strings"

	"codeberg.org/go-pdf/fpdf"

	"escalate/internal/chart"
)

// PDF is the pack as an A4 document: the headline figures, each chart
// drawn from the same layout as the page's SVG, its table, the agencies
// with none and the learning. Core fonts only (no font files): text is
// written in the PDF's Windows-1252 encoding, anything beyond it as "?".
func (v *packView) PDF() ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Meeting pack: "+v.Policy.Name, true)
	pdf.SetCreator("Escalate", true)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 15)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	t := func(s string) string {
		return tr(strings.NewReplacer("–", "-", "’", "'", "‘", "'", "“", `"`, "”", `"`, "…", "...").Replace(s))
	}
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(80, 90, 95)
		pdf.CellFormat(0, 5, t("Meeting pack, "+v.Policy.Name+", "+v.Period.Label+". Page "+strconv.Itoa(pdf.PageNo())), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	pageW, _ := pdf.GetPageSize()
	width := pageW - 30

	pdf.SetTextColor(11, 12, 12)
	pdf.SetFont("Helvetica", "B", 18)
	pdf.MultiCell(width, 8, t("Meeting pack: "+v.Policy.Name), "", "L", false)
	pdf.SetFont("Helvetica", "", 11)
	pdf.MultiCell(width, 6, t("Escalations raised "+v.Period.Label+", beside the same period a year earlier ("+v.Period.EarlierLbl+")."), "", "L", false)
	if v.Period.Since != "" {
		pdf.MultiCell(width, 6, t("The period runs from the last meeting, "+meetingLabel(v.Period.Since)+"."), "", "L", false)
	}
	pdf.MultiCell(width, 6, t("Made at "+v.Generated+"."), "", "L", false)
	pdf.Ln(3)

	table := func(cols []string, rows [][]string) {
		if len(cols) == 0 {
			return
		}
		first := width * 0.34
		if len(cols) == 1 {
			first = width
		}
		rest := 0.0
		if len(cols) > 1 {
			rest = (width - first) / float64(len(cols)-1)
		}
		w := func(i int) float64 {
			if i == 0 {
				return first
			}
			return rest
		}
		// row writes one row: the label left, the figures right.
		row := func(cells []string, height float64, limit int, fill bool) {
			for i, c := range cells {
				align := "R"
				if i == 0 {
					align = "L"
				}
				pdf.CellFormat(w(i), height, t(clip(c, limit)), "B", 0, align, fill, 0, "")
			}
			pdf.Ln(-1)
		}
		pdf.SetFont("Helvetica", "B", 8)
		pdf.SetFillColor(243, 242, 241)
		row(cols, 6, 28, true)
		pdf.SetFont("Helvetica", "", 8)
		for _, r := range rows {
			row(r, 5.5, 60, false)
		}
		pdf.Ln(4)
	}
	heading := func(s string, need float64) {
		_, pageH := pdf.GetPageSize()
		if pdf.GetY()+need > pageH-20 {
			pdf.AddPage()
		}
		pdf.SetFont("Helvetica", "B", 13)
		pdf.MultiCell(width, 7, t(s), "", "L", false)
		pdf.SetFont("Helvetica", "", 9)
	}

	heading("Headline figures", 60)
	var hr [][]string
	for _, f := range v.Headline {
		e := f.Earlier
		if e == "" {
			e = "-"
		}
		hr = append(hr, []string{f.Label, f.Now, e})
	}
	table([]string{"", "This period", "A year earlier"}, hr)

	for _, s := range v.Sections {
		d := s.Bars.Layout()
		scale := width / d.Width
		heading(s.Heading, d.Height*scale+30)
		pdf.MultiCell(width, 4.5, t(s.Intro), "", "L", false)
		pdf.Ln(2)
		if s.Empty == "" {
			drawChart(pdf, d, 15, pdf.GetY(), scale, t)
			pdf.SetY(pdf.GetY() + d.Height*scale + 3)
		}
		var rows [][]string
		for _, r := range s.Rows {
			row := []string{r.Label}
			for _, c := range r.Cells {
				row = append(row, c.Value)
			}
			rows = append(rows, row)
		}
		if s.Empty != "" {
			pdf.MultiCell(width, 5, t(s.Empty), "", "L", false)
			pdf.Ln(3)
			continue
		}
		table(s.Columns, rows)
	}

	heading("Directory agencies with no escalation either way", 30)
	if len(v.Without) == 0 {
		pdf.MultiCell(width, 5, t("Every agency of the directory raised a case or had one raised with it."), "", "L", false)
		pdf.Ln(3)
	} else {
		var rows [][]string
		for _, a := range v.Without {
			rows = append(rows, []string{a.Name, a.YearAgoAnswer})
		}
		table([]string{"Agency", "None a year earlier too"}, rows)
	}

	heading("Learning and good practice recorded", 30)
	if len(v.Learning) == 0 {
		pdf.MultiCell(width, 5, t("None was recorded in the period."), "", "L", false)
	}
	for _, l := range v.Learning {
		pdf.SetFont("Helvetica", "B", 9)
		pdf.MultiCell(width, 5, t(l.Ref+", stage "+l.Stage+", "+l.Category+": "+l.Source+", "+l.When), "", "L", false)
		pdf.SetFont("Helvetica", "", 9)
		pdf.MultiCell(width, 4.5, t(l.Text), "", "L", false)
		pdf.Ln(2)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// drawChart draws a chart's layout at (x, y), scaled.
func drawChart(pdf *fpdf.Fpdf, d chart.Drawing, x, y, scale float64, t func(string) string) {
	for _, r := range d.Rects {
		cr, cg, cb := hexColor(r.Fill)
		pdf.SetFillColor(cr, cg, cb)
		pdf.Rect(x+r.X*scale, y+r.Y*scale, r.W*scale, r.H*scale, "F")
	}
	pdf.SetDrawColor(11, 12, 12)
	pdf.SetLineWidth(0.2)
	for _, l := range d.Lines {
		pdf.Line(x+l.X1*scale, y+l.Y1*scale, x+l.X2*scale, y+l.Y2*scale)
	}
	for _, tx := range d.Texts {
		pdf.SetFont("Helvetica", "", tx.Size*scale*2.83) // px at this scale, in points
		s := t(tx.S)
		w := pdf.GetStringWidth(s)
		px := x + tx.X*scale
		switch tx.Anchor {
		case "end":
			px -= w
		case "middle":
			px -= w / 2
		}
		pdf.Text(px, y+tx.Y*scale, s)
	}
}

func hexColor(h string) (int, int, int) {
	if len(h) != 7 || h[0] != '#' {
		return 0, 0, 0
	}
	v, err := strconv.ParseUint(h[1:], 16, 32)
	if err != nil {
		return 0, 0, 0
	}
	return int(v >> 16 & 0xff), int(v >> 8 & 0xff), int(v & 0xff)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
