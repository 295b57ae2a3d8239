//! Numbers as people read them, the same in the table, the report and the plots.

/// A number as people read it: three significant digits, thousands separated, no trailing
/// zeros (`1,080,000`, `4,110`, `12.3`, `60`, `0.0123`); below a millionth in scientific
/// notation.
pub fn human(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return "–".into();
    }
    if x.abs() < 1e-6 {
        return format!("{x:.2e}");
    }
    // Round to three significant digits, then print no more decimals than they need.
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).max(0) as usize;
    let scale = 10f64.powi(magnitude - 2);
    let rounded = (x / scale).round() * scale;
    let text = format!("{:.*}", decimals, rounded);
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let frac = frac.trim_end_matches('0');
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// Metrics in seconds (`..._s`) are shown in milliseconds: the factor into the shown unit.
pub fn scale_of(metric: &str) -> f64 {
    if metric.ends_with("_s") {
        1e3
    } else {
        1.0
    }
}

/// A metric's name with the unit it is shown in: `latency_p99_s` → `latency_p99 (ms)`.
pub fn titled(metric: &str) -> String {
    match metric.strip_suffix("_s") {
        Some(m) => format!("{m} (ms)"),
        None => metric.to_string(),
    }
}

/// A mean and its ci95 in one cell: `12.3 ± 0.41`; `12.3` when the ci95 is unknown or zero
/// (every replication gave the same value, as the same histogram bucket does: three
/// significant digits are what the histogram resolves); `–` when the mean is unknown.
pub fn mean_ci(mean: f64, ci95: f64) -> String {
    if !mean.is_finite() {
        return "–".into();
    }
    if ci95.is_finite() && ci95 != 0.0 {
        format!("{} ± {}", human(mean), human(ci95))
    } else {
        human(mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(human(1.0794e6), "1,080,000");
        assert_eq!(human(4112.1669), "4,110");
        assert_eq!(human(999.6), "1,000");
        assert_eq!(human(12.345), "12.3");
        assert_eq!(human(0.012345), "0.0123");
        assert_eq!(human(-2.5), "-2.5");
        assert_eq!(human(60.0), "60");
        assert_eq!(human(0.0), "0");
        assert_eq!(human(3.2e-9), "3.20e-9");
        assert_eq!(mean_ci(1.0794e6, 4112.1669), "1,080,000 ± 4,110");
        assert_eq!(mean_ci(0.5, 0.0), "0.5");
        assert_eq!(mean_ci(0.5, f64::NAN), "0.5");
        assert_eq!(mean_ci(f64::NAN, 1.0), "–");
        assert_eq!(
            (titled("latency_p99_s"), scale_of("latency_p99_s")),
            ("latency_p99 (ms)".into(), 1e3)
        );
        assert_eq!(
            (titled("goodput_rps"), scale_of("goodput_rps")),
            ("goodput_rps".into(), 1.0)
        );
    }
}
