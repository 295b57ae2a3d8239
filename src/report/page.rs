//! The skeleton every report page shares: one offline HTML file with a table of contents,
//! sortable tables and, when it has time series, interactive charts (uPlot, inlined from
//! `assets/uplot/`, MIT). Sections add themselves; `finish` writes the page around them.

use std::fmt::Write;

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One table cell: its HTML, the number it sorts by (none: it sorts as text), and whether
/// it is text to align left.
pub struct Cell {
    pub html: String,
    pub sort: Option<f64>,
    pub left: bool,
}

impl Cell {
    /// Text, aligned left, sorted as text.
    pub fn text(s: &str) -> Cell {
        Cell {
            html: esc(s),
            sort: None,
            left: true,
        }
    }

    /// Prepared HTML, aligned left, sorted by its text.
    pub fn html(html: String) -> Cell {
        Cell {
            html,
            sort: None,
            left: true,
        }
    }

    /// A number shown as `shown`, sorted by `value`.
    pub fn number(shown: String, value: f64) -> Cell {
        Cell {
            html: esc(&shown),
            sort: value.is_finite().then_some(value),
            left: false,
        }
    }
}

/// A page being written: its body and the sections its table of contents lists.
pub struct Page {
    body: String,
    toc: Vec<(String, String)>,
    /// The charts' data (JSON), when the page has interactive time series.
    charts: Option<String>,
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
th{background:#f4f4f4}td.l,th.l{text-align:left}td{white-space:nowrap}td.l{white-space:normal}\
table.sortable th{cursor:pointer;user-select:none}table.sortable th[data-dir=asc]::after{content:' ▲'}\
table.sortable th[data-dir=desc]::after{content:' ▼'}.wide{overflow-x:auto}\
.pass{color:#0a6e31;font-weight:bold}.fail{color:#b00020;font-weight:bold}\
nav.toc{background:#f8f8f8;border:1px solid #ddd;padding:.5em 1.5em;display:inline-block}nav.toc li{margin:.15em 0}\
.intro p{max-width:60em}.intro li{max-width:58em}code{background:#f2f2f2;padding:0 .2em}\
figure{margin:2em 0}svg{max-width:100%;height:auto}\
.charts label{margin-right:1em}.chart{margin:1em 0}";

/// Sorting: a click on a header orders the rows by that column (numbers by `data-v`), a
/// second click reverses them.
const SORT_JS: &str = "function scalesimSort(th){const t=th.closest('table'),i=[...th.parentNode.children].indexOf(th),b=t.tBodies[0];\
const asc=th.dataset.dir!=='asc';t.querySelectorAll('th').forEach(h=>delete h.dataset.dir);th.dataset.dir=asc?'asc':'desc';\
const key=r=>{const c=r.cells[i];if(!c)return null;const v=c.dataset.v;return v!==undefined?parseFloat(v):c.textContent.trim()};\
const rows=[...b.rows];rows.sort((x,y)=>{const a=key(x),c=key(y);let d;\
if(typeof a==='number'&&typeof c==='number')d=a-c;else if(typeof a==='number')d=-1;else if(typeof c==='number')d=1;\
else d=String(a).localeCompare(String(c),undefined,{numeric:true});return asc?d:-d});rows.forEach(r=>b.appendChild(r))}\
document.querySelectorAll('table.sortable th').forEach(th=>{th.tabIndex=0;th.title='sort by this column';\
th.addEventListener('click',()=>scalesimSort(th));th.addEventListener('keydown',e=>{if(e.key==='Enter')scalesimSort(th)})});";

/// The interactive charts: up to three, each with a column picker, for one sweep point at a
/// time; hover shows every variant's value, dragging zooms, a double click zooms out.
const CHART_JS: &str = include_str!("charts.js");

impl Page {
    pub fn new() -> Page {
        Page {
            body: String::new(),
            toc: Vec::new(),
            charts: None,
        }
    }

    /// Starts a section listed in the table of contents.
    pub fn section(&mut self, id: &str, title: &str) {
        self.toc.push((id.to_string(), title.to_string()));
        let _ = writeln!(self.body, "<h2 id=\"{id}\">{}</h2>", esc(title));
    }

    /// Raw HTML into the body.
    pub fn push(&mut self, html: &str) {
        self.body.push_str(html);
    }

    /// A sortable table: a header row, then rows of cells.
    pub fn table(&mut self, headers: &[String], rows: &[Vec<Cell>]) {
        let h = &mut self.body;
        h.push_str("<div class=\"wide\"><table class=\"sortable\"><thead><tr>");
        for (i, t) in headers.iter().enumerate() {
            // A header aligns as its column does.
            let left = rows
                .first()
                .and_then(|r| r.get(i))
                .map_or(i == 0, |c| c.left);
            let class = if left { " class=\"l\"" } else { "" };
            let _ = write!(h, "<th{class}>{}</th>", esc(t));
        }
        h.push_str("</tr></thead><tbody>\n");
        for r in rows {
            h.push_str("<tr>");
            for c in r {
                let class = if c.left { " class=\"l\"" } else { "" };
                match c.sort {
                    Some(v) => {
                        let _ = write!(h, "<td{class} data-v=\"{v}\">{}</td>", c.html);
                    }
                    None => {
                        let _ = write!(h, "<td{class}>{}</td>", c.html);
                    }
                }
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody></table></div>\n");
    }

    /// Interactive time series from `data` (see `charts::data`), in their own section.
    pub fn charts(&mut self, data: String, note: &str) {
        self.section("timeseries", "Time series (interactive)");
        let _ = writeln!(
            self.body,
            "<p>{} Hover for values; drag across a chart to zoom, double-click to zoom out. \
             The plots below draw every panel as images.</p>\n<div class=\"charts\" id=\"charts\">\
             <noscript>Interactive charts need JavaScript; the plots below show the same series.</noscript></div>",
            esc(note)
        );
        self.charts = Some(data);
    }

    /// The whole page: head, title, introduction, table of contents, body, scripts.
    pub fn finish(self, title: &str, intro: &str) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{0} — scalesim</title>\n<style>{STYLE}</style>\n",
            esc(title)
        );
        if self.charts.is_some() {
            let _ = writeln!(
                h,
                "<style>{}</style>",
                include_str!("../../assets/uplot/uPlot.min.css")
            );
        }
        let _ = writeln!(h, "</head><body>\n<h1>{}</h1>", esc(title));
        h.push_str(intro);
        if !self.toc.is_empty() {
            h.push_str("<nav class=\"toc\"><b>Contents</b><ol>\n");
            for (id, t) in &self.toc {
                let _ = writeln!(h, "<li><a href=\"#{id}\">{}</a></li>", esc(t));
            }
            h.push_str("</ol></nav>\n");
        }
        h.push_str(&self.body);
        let _ = writeln!(h, "<script>{SORT_JS}</script>");
        if let Some(data) = self.charts {
            // `</` cannot end the script early: JSON of ours holds no `<`, but labels might.
            let data = data.replace("</", "<\\/");
            let _ = writeln!(
                h,
                "<script id=\"series-data\" type=\"application/json\">{data}</script>\n<script>{}</script>\n<script>{CHART_JS}</script>",
                include_str!("../../assets/uplot/uPlot.iife.min.js")
            );
        }
        h.push_str("</body></html>\n");
        h
    }
}

/// Text with its line breaks and runs of spaces as single spaces.
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The file's opening comment as HTML: paragraphs at blank lines, `- ` lines as a list,
/// `` `code` `` kept.
pub fn introduction(text: &str) -> String {
    let inline = |s: &str| {
        let mut out = String::new();
        for (i, part) in esc(s).split('`').enumerate() {
            if i % 2 == 1 {
                let _ = write!(out, "<code>{part}</code>");
            } else {
                out.push_str(part);
            }
        }
        out
    };
    let mut h = String::new();
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        if block.starts_with("- ") {
            h.push_str("<ul>");
            for item in block.split("\n- ") {
                let item = words(item.trim_start_matches("- "));
                let _ = write!(h, "<li>{}</li>", inline(&item));
            }
            h.push_str("</ul>\n");
        } else {
            let _ = writeln!(h, "<p>{}</p>", inline(&words(block)));
        }
    }
    if h.is_empty() {
        h
    } else {
        format!("<div class=\"intro\">{h}</div>\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_introduction_keeps_paragraphs_lists_and_code() {
        let h = introduction("A `b` c\nd.\n\n- one\n  more\n- two <x>\n\nEnd.");
        assert_eq!(
            h,
            "<div class=\"intro\"><p>A <code>b</code> c d.</p>\n<ul><li>one more</li><li>two &lt;x&gt;</li></ul>\n<p>End.</p>\n</div>\n"
        );
    }
}
