//! Request traces: CSV files of `time[,key[,class]]`, one request per line.
//!
//! `time` is seconds from the start (`12.5`) or a duration with a unit (`"12.5s"`); `key` an
//! unsigned integer; `class` an index into the client's classes. A first line that does not
//! start with a number is a header. Lines must be in time order.

use super::spec::parse_duration;
use crate::components::TraceEvent;
use std::path::Path;

pub fn load(path: &Path) -> Result<Vec<TraceEvent>, String> {
    let text = crate::files::read_text(path).map_err(|e| match e.at {
        Some((line, col)) => {
            let name = path.display().to_string();
            let what = e
                .message
                .trim_start_matches(&format!("{name}: "))
                .to_string();
            format!("trace {name}:{line}:{col}: {what}")
        }
        None => format!("trace: {}", e.message),
    })?;
    let mut out: Vec<TraceEvent> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = |m: String| format!("{}:{}: {m}", path.display(), i + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line
            .split(',')
            .map(|f| f.trim().trim_matches('"'))
            .collect();
        if i == 0 && !fields[0].starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            continue; // a header
        }
        let t = match fields[0].parse::<f64>() {
            Ok(s) if s >= 0.0 && s.is_finite() => (s * 1e9).round() as u64,
            Ok(_) => return Err(at(format!("time `{}` must be zero or more", fields[0]))),
            Err(_) => parse_duration(fields[0]).map_err(at)?,
        };
        let key = match fields.get(1) {
            Some(k) if !k.is_empty() => Some(
                k.parse::<u64>()
                    .map_err(|_| at(format!("key `{k}` is not an unsigned integer")))?,
            ),
            _ => None,
        };
        let class = match fields.get(2) {
            Some(c) if !c.is_empty() => Some(
                c.parse::<u16>()
                    .map_err(|_| at(format!("class `{c}` is not a class index")))?,
            ),
            _ => None,
        };
        if out.last().is_some_and(|l| l.at > t) {
            return Err(at("times must not go backwards".into()));
        }
        out.push(TraceEvent { at: t, key, class });
    }
    if out.is_empty() {
        return Err(format!("trace {} has no requests", path.display()));
    }
    Ok(out)
}
