//! `scalesim compare A B`: two result folders side by side, with paired differences.
//!
//! Runs are paired by (variant, sweep values, replication). Two folders from the same
//! experiment file with different settings share their random streams replication by
//! replication (common random numbers), so the paired difference is the sharp one.

use crate::metrics::Aggregate;
use std::collections::BTreeMap;
use std::path::Path;

/// `runs.csv` read back: its header and rows.
pub struct Runs {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Splits one CSV line (RFC 4180 quoting, no embedded newlines: we never write them).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

impl Runs {
    /// Reads `DIR/runs.csv`, with an error naming the file when it is missing or malformed.
    pub fn read(dir: &Path) -> Result<Runs, String> {
        Self::read_file(&dir.join("runs.csv"), "replication")
    }

    /// Reads a CSV file written by scalesim whose header starts with `variant` and has
    /// the column `required`.
    pub fn read_file(path: &Path, required: &str) -> Result<Runs, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut lines = text.lines();
        let header = split_csv(
            lines
                .next()
                .ok_or_else(|| format!("{} is empty", path.display()))?,
        );
        if header.first().map(String::as_str) != Some("variant")
            || !header.iter().any(|h| h == required)
        {
            return Err(format!(
                "{}:1: not a {} written by scalesim",
                path.display(),
                path.file_name()
                    .map_or("file".into(), |n| n.to_string_lossy())
            ));
        }
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let row = split_csv(line);
            if row.len() != header.len() {
                return Err(format!(
                    "{}:{}: {} fields where the header has {}",
                    path.display(),
                    i + 2,
                    row.len(),
                    header.len()
                ));
            }
            rows.push(row);
        }
        Ok(Runs { header, rows })
    }

    fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Rows keyed by (point key, replication), where the point key is the variant and the
    /// sweep values.
    fn keyed(&self) -> BTreeMap<(String, u32), &Vec<String>> {
        let rep = self.col("replication").expect("checked on read");
        self.rows
            .iter()
            .filter_map(|r| {
                let point = r[..rep].join(" ");
                Some(((point, r[rep].parse().ok()?), r))
            })
            .collect()
    }
}

/// The metrics shown by default.
pub const DEFAULT_METRICS: [&str; 6] = [
    "throughput_rps",
    "goodput_rps",
    "latency_mean_s",
    "latency_p99_s",
    "rejected",
    "timed_out",
];

/// One line of a comparison.
pub struct Row {
    pub point: String,
    pub metric: String,
    pub a: Aggregate,
    pub b: Aggregate,
    /// B − A, paired by replication.
    pub diff: Aggregate,
}

/// Compares `metrics` between two folders over every point both have.
pub fn compare(a: &Runs, b: &Runs, metrics: &[String]) -> Result<Vec<Row>, String> {
    for m in metrics {
        if a.col(m).is_none() || b.col(m).is_none() {
            return Err(unknown_metric(m, a, b));
        }
    }
    let (ka, kb) = (a.keyed(), b.keyed());
    let mut points: Vec<String> = Vec::new();
    for (p, _) in ka.keys() {
        if kb.keys().any(|(q, _)| q == p) && !points.contains(p) {
            points.push(p.clone());
        }
    }
    if points.is_empty() {
        return Err("the two folders have no variant and sweep point in common".into());
    }
    let value = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
    let mut rows = Vec::new();
    for p in &points {
        for m in metrics {
            let (ca, cb) = (a.col(m).expect("checked"), b.col(m).expect("checked"));
            let xa: Vec<f64> = ka
                .iter()
                .filter(|((q, _), _)| q == p)
                .map(|(_, r)| value(&r[ca]))
                .collect();
            let xb: Vec<f64> = kb
                .iter()
                .filter(|((q, _), _)| q == p)
                .map(|(_, r)| value(&r[cb]))
                .collect();
            let diffs: Vec<f64> = ka
                .iter()
                .filter(|((q, _), _)| q == p)
                .filter_map(|(k, r)| kb.get(k).map(|rb| value(&rb[cb]) - value(&r[ca])))
                .collect();
            rows.push(Row {
                point: p.clone(),
                metric: m.clone(),
                a: Aggregate::of(&xa),
                b: Aggregate::of(&xb),
                diff: Aggregate::of(&diffs),
            });
        }
    }
    Ok(rows)
}

/// A value as the report shows it: three significant digits, latencies in ms.
fn fmt(a: &Aggregate, metric: &str, with_ci: bool) -> String {
    let scale = super::numbers::scale_of(metric);
    let ci = if with_ci { a.ci95 * scale } else { f64::NAN };
    super::numbers::mean_ci(a.mean * scale, ci)
}

/// The comparison as a table; a difference whose ci95 excludes zero is marked `*`.
pub fn table(rows: &[Row]) -> String {
    let mut lines = vec![vec![
        "point".to_string(),
        "metric".into(),
        "A".into(),
        "B".into(),
        "B − A (paired)".into(),
        String::new(),
    ]];
    for r in rows {
        let significant = r.diff.ci95.is_finite() && r.diff.mean.abs() > r.diff.ci95;
        lines.push(vec![
            r.point.clone(),
            super::numbers::titled(&r.metric),
            fmt(&r.a, &r.metric, false),
            fmt(&r.b, &r.metric, false),
            fmt(&r.diff, &r.metric, true),
            if significant {
                "*".into()
            } else {
                String::new()
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let cells: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(c, s)| {
                if c < 2 {
                    format!("{s:<w$}", w = widths[c])
                } else {
                    format!("{s:>w$}", w = widths[c])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 10));
            out.push('\n');
        }
    }
    out.push_str("* the 95% confidence interval of the paired difference excludes zero\n");
    out
}

/// The error for a metric not in both files: the names that are, those most like it first.
fn unknown_metric(m: &str, a: &Runs, b: &Runs) -> String {
    let key = [
        "variant",
        "replication",
        "seed",
        "events",
        "fingerprint",
        "stop",
    ];
    let names: Vec<&String> = a
        .header
        .iter()
        .filter(|h| !h.starts_with("param.") && !key.contains(&h.as_str()))
        .filter(|h| b.header.contains(h))
        .collect();
    let last = m.rsplit('.').next().unwrap_or(m);
    let like: Vec<&&String> = names.iter().filter(|h| h.contains(last)).collect();
    let list = |v: &[&String]| {
        v.iter()
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let all = list(&names);
    if like.is_empty() {
        format!("metric `{m}` is not a column of both runs.csv files; they share: {all}")
    } else {
        let like: Vec<&String> = like.into_iter().copied().collect();
        format!(
            "metric `{m}` is not a column of both runs.csv files; did you mean {}? They share: {all}",
            list(&like)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes() {
        assert_eq!(
            split_csv(r#"a,"b,c","d""e",,f"#),
            vec!["a", "b,c", "d\"e", "", "f"]
        );
    }
}
