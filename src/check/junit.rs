//! JUnit XML for CI systems: one test suite per experiment, one case per expectation.

use super::Verdict;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// `suites`: (experiment name, file, verdicts).
pub fn render(suites: &[(String, String, Vec<Verdict>)]) -> String {
    let total: usize = suites.iter().map(|s| s.2.len()).sum();
    let failed: usize = suites
        .iter()
        .map(|s| s.2.iter().filter(|v| !v.passed).count())
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"scalesim check\" tests=\"{total}\" failures=\"{failed}\">\n"
    ));
    for (name, file, verdicts) in suites {
        let f = verdicts.iter().filter(|v| !v.passed).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" file=\"{}\">\n",
            escape(name),
            verdicts.len(),
            escape(file)
        ));
        for v in verdicts {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                escape(name),
                escape(&v.text)
            ));
            if v.passed {
                out.push_str(">\n");
                out.push_str(&format!(
                    "      <system-out>{}</system-out>\n",
                    escape(&v.detail)
                ));
                out.push_str("    </testcase>\n");
            } else {
                out.push_str(">\n");
                out.push_str(&format!(
                    "      <failure message=\"measured {}\">{}</failure>\n",
                    escape(&v.detail),
                    escape(&v.text)
                ));
                out.push_str("    </testcase>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
