//! The clock overlay's text: a Unix time at a UTC offset, formatted.

use urbis_geo::calendar::civil_from_days;

/// `unix` seconds at `offset_s` from UTC, written by `format` (%Y %m %d %H %M
/// %S %a %b %z %%; anything else as written).
pub fn clock_text(unix: f64, offset_s: i64, format: &str) -> String {
    let secs = if unix.is_finite() { unix.floor() as i64 } else { 0 } + offset_s;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&format!("{year:04}")),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('H') => out.push_str(&format!("{:02}", sod / 3600)),
            Some('M') => out.push_str(&format!("{:02}", sod / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", sod % 60)),
            Some('a') => out.push_str(WEEKDAYS[(days + 4).rem_euclid(7) as usize]),
            Some('b') => out.push_str(MONTHS[(month - 1) as usize]),
            Some('z') => {
                let sign = if offset_s < 0 { '-' } else { '+' };
                let m = offset_s.abs() / 60;
                out.push_str(&format!("UTC{sign}{:02}:{:02}", m / 60, m % 60));
            }
            Some('%') | None => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
        }
    }
    out
}
