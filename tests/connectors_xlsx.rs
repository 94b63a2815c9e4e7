//! The XLSX system against real workbooks written by another library.

use std::path::{Path, PathBuf};

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use trueup::ErrorCode;
use trueup::connectors::xlsx::XlsxSystem;
use trueup::connectors::{Connector, EntitySource, Sample};

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// A workbook with a `Customers` sheet (numbers, dates, non-ASCII text) and
/// an `Orders` sheet whose table starts below a title and a blank row.
fn workbook() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.xlsx");
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let moment = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let time = Format::new().set_num_format("hh:mm");

    let sheet = book.add_worksheet();
    sheet.set_name("Customers").unwrap();
    for (col, name) in [
        "id",
        "name",
        "balance",
        "since",
        "last_call",
        "opens",
        "active",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, *name).unwrap();
    }
    sheet.write_number(1, 0, 1).unwrap();
    sheet.write_string(1, 1, "Zoë Ångström").unwrap();
    sheet.write_number(1, 2, 1234.5).unwrap();
    sheet
        .write_datetime_with_format(1, 3, ExcelDateTime::from_ymd(2024, 3, 1).unwrap(), &date)
        .unwrap();
    let call = ExcelDateTime::from_ymd(2025, 12, 31)
        .unwrap()
        .and_hms(23, 59, 30)
        .unwrap();
    sheet
        .write_datetime_with_format(1, 4, &call, &moment)
        .unwrap();
    sheet
        .write_datetime_with_format(1, 5, ExcelDateTime::from_hms(9, 15, 0).unwrap(), &time)
        .unwrap();
    sheet.write_boolean(1, 6, true).unwrap();

    sheet.write_number(2, 0, 2).unwrap();
    sheet.write_string(2, 1, "株式会社テスト").unwrap();
    sheet.write_number(2, 2, -0.1).unwrap();
    // Row 3 left blank: a gap in the data.
    sheet.write_number(4, 0, 3).unwrap();
    sheet.write_string(4, 1, "  padded  ").unwrap();
    sheet.write_formula(4, 2, "=C2*2").unwrap();

    let orders = book.add_worksheet();
    orders.set_name("Orders").unwrap();
    orders.write_string(2, 1, "order").unwrap();
    orders.write_string(2, 2, "").unwrap();
    orders.write_string(2, 3, "total").unwrap();
    orders.write_string(3, 1, "A-1").unwrap();
    orders.write_number(3, 3, 1e20).unwrap();
    book.save(&path).unwrap();
    (dir, path)
}

fn read(path: &Path, sheet: Option<&str>) -> trueup::Result<Sample> {
    let mut sample = Sample {
        limit: usize::MAX,
        ..Default::default()
    };
    let source = EntitySource {
        table: sheet.map(str::to_string),
        ..Default::default()
    };
    XlsxSystem::new("crm".into(), path.to_path_buf()).read(&source, &mut sample)?;
    Ok(sample)
}

#[test]
fn check_lists_the_sheets() {
    let (_dir, path) = workbook();
    let info = XlsxSystem::new("crm".into(), path).check().unwrap();
    assert_eq!(info.entities, vec!["Customers", "Orders"]);
}

#[test]
fn reads_the_first_sheet_as_text() {
    let (_dir, path) = workbook();
    let sample = read(&path, None).unwrap();
    assert_eq!(
        sample.schema.unwrap().fields,
        vec![
            "id",
            "name",
            "balance",
            "since",
            "last_call",
            "opens",
            "active"
        ],
        "the first row is the header"
    );
    let rows = sample.rows;
    assert_eq!(rows.len(), 3, "the blank row is skipped");
    assert_eq!(
        rows[0],
        (
            2,
            vec![
                s("1"),
                s("Zoë Ångström"),
                s("1234.5"),
                s("2024-03-01"),
                s("2025-12-31T23:59:30"),
                s("09:15:00"),
                s("TRUE"),
            ]
        ),
        "whole numbers without .0, dates and times in ISO 8601, origin = spreadsheet row"
    );
    assert_eq!(
        rows[1],
        (
            3,
            vec![
                s("2"),
                s("株式会社テスト"),
                s("-0.1"),
                None,
                None,
                None,
                None
            ]
        )
    );
    assert_eq!(
        rows[2].0, 5,
        "origins keep the spreadsheet's row numbers after a gap"
    );
    assert_eq!(rows[2].1[1], s("  padded  "), "text is kept as typed");
}

#[test]
fn reads_a_named_sheet_whose_table_starts_lower() {
    let (_dir, path) = workbook();
    let sample = read(&path, Some("Orders")).unwrap();
    assert_eq!(
        sample.schema.unwrap().fields,
        vec!["order", "column_2", "total"],
        "a blank header cell is named by position"
    );
    assert_eq!(sample.rows, vec![(4, vec![s("A-1"), None, s("1e20")])]);
}

#[test]
fn a_missing_sheet_is_not_found_and_lists_the_sheets() {
    let (_dir, path) = workbook();
    let err = read(&path, Some("Suppliers")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("Suppliers") && text.contains("Orders"),
        "{text}"
    );
}

#[test]
fn a_missing_or_broken_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.xlsx");
    let err = read(&missing, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io, "{err}");
    assert!(err.to_string().contains("missing.xlsx"), "{err}");

    let broken = dir.path().join("broken.xlsx");
    std::fs::write(&broken, "id,name\n1,not a workbook\n").unwrap();
    let err = read(&broken, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Input, "{err}");
    assert!(err.to_string().contains("broken.xlsx"), "{err}");
}

#[test]
fn a_repeated_header_is_an_input_error_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dup.xlsx");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "email").unwrap();
    sheet.write_string(0, 1, "email").unwrap();
    sheet.write_string(1, 0, "a@example.com").unwrap();
    book.save(&path).unwrap();
    let err = read(&path, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Input, "{err}");
    let text = err.to_string();
    assert!(text.contains("line 1") && text.contains("email"), "{text}");
}
