//! How spreadsheet cells become Trueup text values.

use calamine::{Data, ExcelDateTime};

use crate::records::{Value, value_from};

/// Renders one cell as text, as a person reading the sheet would type it:
/// whole numbers without `.0`, other numbers in their shortest round-trip
/// form, dates and times in ISO 8601 (`2024-03-01`, `2024-03-01T14:30:00`,
/// `14:30:00`), booleans as `TRUE`/`FALSE`, cell errors as Excel shows them
/// (`#DIV/0!`). Empty cells and empty text are `None`.
pub fn render(cell: &Data) -> Value {
    match cell {
        Data::Empty => None,
        Data::String(s) => value_from(s),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(render_number(*f)),
        Data::Bool(b) => Some(if *b { "TRUE" } else { "FALSE" }.to_string()),
        Data::DateTime(dt) => Some(render_datetime(dt)),
        Data::DateTimeIso(s) | Data::DurationIso(s) => value_from(s),
        Data::Error(e) => Some(e.to_string()),
    }
}

/// A number as text: integral values without a fraction (`42`, not `42.0`),
/// others in the shortest form that reads back as the same value.
pub fn render_number(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else if f.is_finite() && f != 0.0 && !(1e-7..1e15).contains(&f.abs()) {
        format!("{f:e}")
    } else {
        format!("{f}")
    }
}

/// An Excel date, time, date-time or duration in ISO 8601 form.
pub fn render_datetime(dt: &ExcelDateTime) -> String {
    if dt.is_duration() {
        // Durations may exceed a day: total hours, minutes, seconds.
        let total_ms = (dt.as_f64() * 86_400_000.0).round() as i64;
        let sign = if total_ms < 0 { "-" } else { "" };
        let ms = total_ms.abs();
        let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        return if milli == 0 {
            format!("{sign}{h:02}:{m:02}:{s:02}")
        } else {
            format!("{sign}{h:02}:{m:02}:{s:02}.{milli:03}")
        };
    }
    let (year, month, day, hour, min, sec, milli) = dt.to_ymd_hms_milli();
    let time = if milli == 0 {
        format!("{hour:02}:{min:02}:{sec:02}")
    } else {
        format!("{hour:02}:{min:02}:{sec:02}.{milli:03}")
    };
    let serial = dt.as_f64();
    if (0.0..1.0).contains(&serial) {
        // A time of day with no date.
        time
    } else if hour == 0 && min == 0 && sec == 0 && milli == 0 {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{time}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    #[test]
    fn numbers_print_as_typed() {
        assert_eq!(render_number(42.0), "42", "whole numbers have no .0");
        assert_eq!(render_number(-3.0), "-3");
        assert_eq!(render_number(12.5), "12.5");
        assert_eq!(
            render_number(0.1 + 0.2),
            "0.30000000000000004",
            "round-trip form"
        );
        assert_eq!(render_number(1e20), "1e20");
    }

    #[test]
    fn dates_print_in_iso_8601() {
        let date = ExcelDateTime::new(45352.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(render_datetime(&date), "2024-03-01");
        let moment = ExcelDateTime::new(45352.5, ExcelDateTimeType::DateTime, false);
        assert_eq!(render_datetime(&moment), "2024-03-01T12:00:00");
        let time = ExcelDateTime::new(0.75, ExcelDateTimeType::DateTime, false);
        assert_eq!(render_datetime(&time), "18:00:00");
        let long = ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(
            render_datetime(&long),
            "36:00:00",
            "durations count hours past a day"
        );
    }
}
