//! `trueup diff` end to end: the JSON contract, exit statuses, tolerances,
//! duplicate keys, one-sided columns, encodings, errors, CSV safety, and the
//! benchmark generator's truth. Most tests run the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn diff(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_trueup-diff"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("the trueup-diff binary runs");
    Run {
        status: out.status.code().expect("exits normally"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("the test can write its input");
    p
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout must be one JSON object ({e}): {}", run.stdout))
}

/// Runs a JSON diff of two CSV texts keyed by `id`, with extra arguments.
fn json_diff(left: &str, right: &str, extra: &[&str]) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let l = write(dir.path(), "left.csv", left);
    let r = write(dir.path(), "right.csv", right);
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&l, &r, &"--key", &"id", &"--format", &"json"];
    for e in extra {
        args.push(e);
    }
    let run = diff(&args);
    assert!(run.status != 2, "no error expected: {}", run.stderr);
    (run.status, json(&run))
}

fn summary(v: &Value) -> [u64; 6] {
    let s = &v["summary"];
    [
        "left_rows",
        "right_rows",
        "added",
        "removed",
        "changed",
        "unchanged",
    ]
    .map(|k| s[k].as_u64().unwrap())
}

#[test]
fn json_contract_shape() {
    let (status, v) = json_diff(
        "id,name,price\n1,Ann,10\n2,Bob,5\n3,Cy,7\n",
        "price,id,name\n10,1,Ann\n6,2,Rob\n1,4,Dan\n",
        &[],
    );
    assert_eq!(status, 1, "different files exit with 1");
    let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in ["summary", "added", "removed", "changed"] {
        assert!(
            top.contains(&k),
            "the contract names top-level key {k:?}; got {top:?}"
        );
    }
    let skeys: Vec<&str> = v["summary"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        skeys.len(),
        6,
        "summary holds exactly left_rows, right_rows, added, removed, changed, unchanged: {skeys:?}"
    );
    assert_eq!(summary(&v), [3, 3, 1, 1, 1, 1]);
    assert_eq!(
        v["added"],
        serde_json::json!([{"price": "1", "id": "4", "name": "Dan"}]),
        "added rows are objects column → value, as read from RIGHT"
    );
    assert_eq!(
        v["removed"],
        serde_json::json!([{"id": "3", "name": "Cy", "price": "7"}])
    );
    assert_eq!(
        v["changed"],
        serde_json::json!([{"key": {"id": "2"}, "changes": {
            "name": {"left": "Bob", "right": "Rob"},
            "price": {"left": "5", "right": "6"}}}]),
        "changed lists only differing columns, matched by header name, not position"
    );
}

#[test]
fn exit_statuses() {
    let (status, v) = json_diff("id,a,b\n1,x,y\n2,z,w\n", "b,a,id\nw,z,2\ny,x,1\n", &[]);
    assert_eq!(
        status, 0,
        "same rows in another order and column order are identical"
    );
    assert_eq!(summary(&v), [2, 2, 0, 0, 0, 2]);
    let (status, _) = json_diff("id,a\n1,x\n", "id,a\n1,y\n", &[]);
    assert_eq!(status, 1, "a changed cell exits with 1");
    let dir = tempfile::tempdir().unwrap();
    let run = diff(&[
        &dir.path().join("nope.csv"),
        &dir.path().join("nope.csv"),
        &"--key",
        &"id",
    ]);
    assert_eq!(run.status, 2, "an error exits with 2");
}

#[test]
fn tolerances_each_make_a_difference_equal() {
    let cases: [(&str, &str, &[&str]); 5] = [
        ("id,v\n1,Ann\n", "id,v\n1,  Ann \n", &["--trim"]),
        ("id,v\n1,ANN\n", "id,v\n1,ann\n", &["--ignore-case"]),
        (
            "id,v\n1,10.0\n",
            "id,v\n1,10\n",
            &["--numeric-tolerance", "0"],
        ),
        (
            "id,v\n1,10.004\n",
            "id,v\n1,10\n",
            &["--numeric-tolerance", "0.01"],
        ),
        (
            "id,v\n1,2024-03-01\n",
            "id,v\n1,01/03/2024\n",
            &["--date-formats", "iso,%d/%m/%Y"],
        ),
    ];
    for (left, right, flags) in cases {
        let (status, v) = json_diff(left, right, &[]);
        assert_eq!(
            (status, summary(&v)[4]),
            (1, 1),
            "without {flags:?} the values differ"
        );
        let (status, v) = json_diff(left, right, flags);
        assert_eq!(
            (status, summary(&v)[4]),
            (0, 0),
            "with {flags:?} the values are equal"
        );
        assert_eq!(summary(&v)[5], 1, "and the row counts as unchanged");
    }
    let (_, v) = json_diff(
        "id,v\n1,10.5\n",
        "id,v\n1,10\n",
        &["--numeric-tolerance", "0.01"],
    );
    assert_eq!(
        summary(&v)[4],
        1,
        "a difference beyond the tolerance is a change"
    );
    let (_, v) = json_diff(
        "id,v\n1,2024-03-02\n",
        "id,v\n1,01/03/2024\n",
        &["--date-formats", "iso,%d/%m/%Y"],
    );
    assert_eq!(summary(&v)[4], 1, "different dates stay different");
    let (status, v) = json_diff("id,v\n A ,x\n", "id,v\na,x\n", &["--trim", "--ignore-case"]);
    assert_eq!(
        (status, summary(&v)),
        (0, [1, 1, 0, 0, 0, 1]),
        "keys get the textual tolerances too"
    );
    let (_, v) = json_diff("id,v\n1, x \n", "id,v\n1,y\n", &["--trim"]);
    assert_eq!(
        v["changed"][0]["changes"]["v"]["left"],
        " x ".trim(),
        "values are shown after the chosen tolerances"
    );
}

#[test]
fn duplicate_keys_fail_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let l = write(dir.path(), "left.csv", "id,v\n1,a\n2,b\n2,c\n3,d\n2,e\n");
    let r = write(dir.path(), "right.csv", "id,v\n1,a\n2,c\n3,d\n");
    let run = diff(&[&l, &r, &"--key", &"id", &"--format", &"json"]);
    assert_eq!(run.status, 2, "duplicate keys are an error by default");
    assert!(run.stdout.is_empty(), "no partial output on error");
    for needle in [
        "left.csv",
        "\"2\"",
        "3 times",
        "lines 3, 4, 6",
        "--allow-duplicates",
    ] {
        assert!(
            run.stderr.contains(needle),
            "the error names {needle:?}: {}",
            run.stderr
        );
    }
    let run = diff(&[
        &l,
        &r,
        &"--key",
        &"id",
        &"--format",
        &"json",
        &"--allow-duplicates",
        &"first",
    ]);
    let v = json(&run);
    assert_eq!(run.status, 1, "first keeps b, which differs from c");
    assert_eq!(
        v["changed"][0]["changes"]["v"],
        serde_json::json!({"left": "b", "right": "c"})
    );
    assert_eq!(
        summary(&v),
        [5, 3, 0, 0, 1, 2],
        "left_rows counts every row read"
    );
    assert!(
        run.stderr.contains("appears 3 times"),
        "tolerated duplicates are still reported: {}",
        run.stderr
    );
    let run = diff(&[
        &l,
        &r,
        &"--key",
        &"id",
        &"--format",
        &"json",
        &"--allow-duplicates",
        &"last",
    ]);
    let v = json(&run);
    assert_eq!(
        v["changed"][0]["changes"]["v"],
        serde_json::json!({"left": "e", "right": "c"}),
        "last keeps e"
    );
    let r2 = write(dir.path(), "right2.csv", "id,v\n1,a\n1,b\n");
    let run = diff(&[&r, &r2, &"--key", &"id"]);
    assert!(
        run.status == 2 && run.stderr.contains("right2.csv") && run.stderr.contains("line 3"),
        "duplicates in RIGHT are reported with RIGHT's name and lines: {}",
        run.stderr
    );
}

#[test]
fn one_sided_columns_are_reported_once_not_per_row() {
    let (status, v) = json_diff("id,a,old\n1,x,o\n2,y,o\n", "id,new,a\n1,n,x\n2,n,y\n", &[]);
    assert_eq!(v["columns"]["left_only"], serde_json::json!(["old"]));
    assert_eq!(v["columns"]["right_only"], serde_json::json!(["new"]));
    assert_eq!(
        summary(&v),
        [2, 2, 0, 0, 0, 2],
        "no row counts as changed because of a one-sided column"
    );
    assert_eq!(
        status, 1,
        "the files still differ: their columns are not the same"
    );
    let (status, _) = json_diff("id,a,old\n1,x,o\n", "id,a\n1,x\n", &["--ignore", "old"]);
    assert_eq!(status, 0, "an ignored one-sided column is not a difference");
}

#[test]
fn columns_and_ignore_select_what_is_compared() {
    let left = "id,a,b\n1,x,y\n";
    let right = "id,a,b\n1,x2,y2\n";
    let (_, v) = json_diff(left, right, &["--columns", "a"]);
    assert_eq!(
        v["changed"][0]["changes"].as_object().unwrap().len(),
        1,
        "only a is compared"
    );
    let (_, v) = json_diff(left, right, &["--ignore", "a"]);
    assert!(
        v["changed"][0]["changes"].get("b").is_some()
            && v["changed"][0]["changes"].get("a").is_none()
    );
    let (status, _) = json_diff(left, right, &["--ignore", "a,b"]);
    assert_eq!(status, 0, "nothing left to compare: identical");
}

#[test]
fn limit_truncates_lists_but_not_counts() {
    let (_, v) = json_diff(
        "id,a\n1,x\n2,x\n3,x\n",
        "id,a\n1,y\n2,y\n3,y\n",
        &["--limit", "2"],
    );
    assert_eq!(summary(&v)[4], 3, "counts stay complete");
    assert_eq!(
        v["changed"].as_array().unwrap().len(),
        2,
        "the list is cut at --limit"
    );
}

#[test]
fn encodings_and_delimiters_are_detected_per_side() {
    let dir = tempfile::tempdir().unwrap();
    let text = "id,name,city\n1,Zoë,Kraków\n2,\"Ana, María\",Malmö\n";
    let bom = write(
        dir.path(),
        "bom.csv",
        [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat(),
    );
    let semi = text
        .replace(",Z", ";Z")
        .replace("id,name,city", "id;name;city");
    let semi = semi
        .replace("1;Zoë,Kraków", "1;Zoë;Kraków")
        .replace("2,\"Ana, María\",Malmö", "2;\"Ana, María\";Malmö");
    let mut utf16 = vec![0xFF, 0xFE];
    for u in semi.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let utf16 = write(dir.path(), "utf16.csv", utf16);
    let (cp, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    let cp1252 = write(dir.path(), "cp1252.csv", cp);
    let plain = write(dir.path(), "plain.csv", text);
    for (a, b) in [
        (&bom, &utf16),
        (&utf16, &cp1252),
        (&cp1252, &plain),
        (&plain, &bom),
    ] {
        let run = diff(&[a, b, &"--key", &"id", &"--format", &"json"]);
        assert_eq!(
            run.status,
            0,
            "{} and {} hold the same rows: {}{}",
            a.display(),
            b.display(),
            run.stdout,
            run.stderr
        );
    }
    let run = diff(&[&bom, &utf16, &"--key", &"id"]);
    assert!(
        run.stdout.contains("UTF-16LE with BOM, delimiter ';'"),
        "the table says how each side was read: {}",
        run.stdout
    );
}

#[test]
fn quoted_newlines_keep_lines_right() {
    let (_, v) = json_diff(
        "id,note\n1,\"a\nb\"\n2,x\n",
        "id,note\n2,y\n1,\"a\nb\"\n",
        &[],
    );
    assert_eq!(summary(&v), [2, 2, 0, 0, 1, 1]);
    let dir = tempfile::tempdir().unwrap();
    let l = write(dir.path(), "l.csv", "id,note\n1,\"a\nb\"\n1,x\n");
    let run = diff(&[&l, &l, &"--key", &"id"]);
    assert!(
        run.stderr.contains("lines 2, 4"),
        "line numbers count the newline inside quotes: {}",
        run.stderr
    );
}

/// Every input error exits with 2 and names the file, the line and the column.
#[test]
fn errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.csv", "id,name\n1,a\n");
    /// File name, content, extra arguments, what the error must name.
    type Case<'a> = (&'a str, Vec<u8>, Vec<&'a str>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "ragged.csv",
            b"id,name,city\n1,a,b\n2,c\n".to_vec(),
            vec![],
            vec!["ragged.csv", "line 3", "column \"city\"", "ragged row"],
        ),
        (
            "quote.csv",
            b"id,name\n1,a\n2,\"never closed\n3,c\n".to_vec(),
            vec![],
            vec!["quote.csv", "line 3", "unterminated quoted field"],
        ),
        (
            "nokey.csv",
            b"ident,name\n1,a\n".to_vec(),
            vec![],
            vec!["nokey.csv", "line 1", "column \"id\"", "not in the header"],
        ),
        (
            "latin.csv",
            b"id,name\n1,a\n2,Zo\xeb\n".to_vec(),
            vec!["--encoding", "utf-8"],
            vec!["latin.csv", "line 3", "column \"name\"", "invalid UTF-8"],
        ),
        (
            "dupheader.csv",
            b"id,name,name\n1,a,b\n".to_vec(),
            vec![],
            vec!["dupheader.csv", "line 1", "column \"name\"", "twice"],
        ),
    ];
    for (name, bytes, extra, needles) in cases {
        let bad = write(dir.path(), name, bytes);
        for (l, r) in [(&good, &bad), (&bad, &good)] {
            let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![l, r, &"--key", &"id"];
            for e in &extra {
                args.push(e);
            }
            let run = diff(&args);
            assert_eq!(run.status, 2, "{name} is an error: {}", run.stdout);
            for n in &needles {
                assert!(
                    run.stderr.contains(n),
                    "the error for {name} names {n:?}: {}",
                    run.stderr
                );
            }
        }
    }
    let run = diff(&[&good, &dir.path().join("missing.csv"), &"--key", &"id"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("missing.csv") && run.stderr.contains("No such file"),
        "a missing file is named: {}",
        run.stderr
    );
    let odd = write(
        dir.path(),
        "odd16.csv",
        [
            &[0xFF, 0xFE][..],
            "id,name\n1,a\n"
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes())
                .collect::<Vec<u8>>()
                .as_slice(),
            &[0xD8][..],
        ]
        .concat(),
    );
    let run = diff(&[&good, &odd, &"--key", &"id"]);
    assert!(
        run.status == 2 && run.stderr.contains("odd16.csv") && run.stderr.contains("line 3"),
        "undecodable UTF-16 is named with its line: {}",
        run.stderr
    );
}

#[test]
fn csv_output_is_excel_safe() {
    let dir = tempfile::tempdir().unwrap();
    let l = write(dir.path(), "l.csv", "id,f\n1,=SUM(A1)\n2,ok\n");
    let r = write(dir.path(), "r.csv", "id,f\n1,+1\n3,@cmd\n");
    let run = diff(&[&l, &r, &"--key", &"id", &"--format", &"csv", &"--bom"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stdout.starts_with('\u{feff}'),
        "--bom starts the output with a BOM"
    );
    let mut rows = csv::Reader::from_reader(run.stdout.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(
        rows.headers().unwrap(),
        vec!["kind", "id", "column", "left", "right"]
    );
    let rows: Vec<Vec<String>> = rows
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert!(
        rows.contains(&vec![
            "changed".into(),
            "1".into(),
            "f".into(),
            "'=SUM(A1)".into(),
            "'+1".into()
        ]),
        "formula starts get an apostrophe: {rows:?}"
    );
    assert!(
        rows.contains(&vec![
            "added".into(),
            "3".into(),
            "f".into(),
            "".into(),
            "'@cmd".into()
        ]),
        "{rows:?}"
    );
    assert!(
        rows.contains(&vec![
            "removed".into(),
            "2".into(),
            "f".into(),
            "ok".into(),
            "".into()
        ]),
        "{rows:?}"
    );
    assert_eq!(trueup::diff::neutralise("-1"), "'-1");
    assert_eq!(trueup::diff::neutralise("\tx"), "'\tx");
    assert_eq!(trueup::diff::neutralise("\rx"), "'\rx");
    assert_eq!(trueup::diff::neutralise("1-1"), "1-1");
}

#[test]
fn table_output_summarises() {
    let dir = tempfile::tempdir().unwrap();
    let l = write(dir.path(), "l.csv", "id,a\n1,x\n2,x\n");
    let r = write(dir.path(), "r.csv", "id,a\n1,y\n2,y\n");
    let run = diff(&[&l, &r, &"--key", &"id", &"--limit", &"1"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stdout
            .contains("0 added, 0 removed, 2 changed, 0 unchanged"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("x  →  y"),
        "changed cells side by side: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("1 more"),
        "truncation is said: {}",
        run.stdout
    );
    assert!(
        !run.stdout.contains('\u{1b}'),
        "no colours when not on a terminal"
    );
}

/// The benchmark's generated differences are found exactly.
#[test]
fn generator_truth_matches_diff_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let truth = trueup::bench::generate(dir.path(), 20_000, 7).unwrap();
    assert!(
        truth.summary.added > 100 && truth.summary.removed > 100 && truth.summary.changed > 700
    );
    let run = diff(&[
        &dir.path().join("left.csv"),
        &dir.path().join("right.csv"),
        &"--key",
        &"id",
        &"--format",
        &"json",
    ]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let problems = truth.check(&json(&run));
    assert!(
        problems.is_empty(),
        "the diff must equal the generator's truth: {problems:?}"
    );
}

#[test]
fn last_row_without_newline_and_wide_rows_read_back_whole() {
    let (_, v) = json_diff("id,a\n1,x\n2,last", "id,a\n2,LAST\n1,x", &[]);
    assert_eq!(
        v["changed"][0]["changes"]["a"],
        serde_json::json!({"left": "last", "right": "LAST"}),
        "a final record without a line end is read back exactly"
    );
    let header: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
    let row = |last: &str| {
        let mut r: Vec<String> = (0..99).map(|i| format!("v{i}")).collect();
        r.push(last.to_string());
        r.join(",")
    };
    let left = format!("{}\n{}\n", header.join(","), row("old"));
    let right = format!("{}\n{}\n", header.join(","), row("new"));
    let dir = tempfile::tempdir().unwrap();
    let l = write(dir.path(), "l.csv", left);
    let r = write(dir.path(), "r.csv", right);
    let run = diff(&[&l, &r, &"--key", &"c0", &"--format", &"json"]);
    let v = json(&run);
    assert_eq!(
        v["changed"][0]["changes"],
        serde_json::json!({"c99": {"left": "old", "right": "new"}}),
        "rows with more than 64 fields are read back whole"
    );
}

/// Writes a minimal XLSX workbook: one sheet per entry, cells as inline strings.
fn write_xlsx(path: &Path, sheets: &[(&str, &[&[&str]])]) {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    let mut file = |name: &str, text: String| {
        z.start_file(name, opts).unwrap();
        z.write_all(text.as_bytes()).unwrap();
    };
    let overrides: String = (1..=sheets.len())
        .map(|i| format!(r#"<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#))
        .collect();
    file(
        "[Content_Types].xml",
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{overrides}</Types>"#
        ),
    );
    file(
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string(),
    );
    let names: String = sheets
        .iter()
        .enumerate()
        .map(|(i, (n, _))| {
            format!(
                r#"<sheet name="{n}" sheetId="{}" r:id="rId{}"/>"#,
                i + 1,
                i + 1
            )
        })
        .collect();
    file(
        "xl/workbook.xml",
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{names}</sheets></workbook>"#
        ),
    );
    let rels: String = (1..=sheets.len())
        .map(|i| format!(r#"<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>"#))
        .collect();
    file(
        "xl/_rels/workbook.xml.rels",
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
        ),
    );
    for (i, (_, rows)) in sheets.iter().enumerate() {
        let mut xml = String::new();
        for (r, row) in rows.iter().enumerate() {
            xml.push_str(&format!(r#"<row r="{}">"#, r + 1));
            for (c, v) in row.iter().enumerate() {
                let col = (b'A' + c as u8) as char;
                xml.push_str(&format!(
                    r#"<c r="{col}{}" t="inlineStr"><is><t>{v}</t></is></c>"#,
                    r + 1
                ));
            }
            xml.push_str("</row>");
        }
        file(
            &format!("xl/worksheets/sheet{}.xml", i + 1),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{xml}</sheetData></worksheet>"#
            ),
        );
    }
    z.finish().unwrap();
}

#[test]
fn xlsx_input_first_sheet_or_named_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book.xlsx");
    let first: &[&[&str]] = &[
        &["id", "name"],
        &["1", "Zoë"],
        &["2", "Bob"],
        &["2", "Bobby"],
    ];
    let second: &[&[&str]] = &[&["id", "name"], &["1", "Zoë"], &["2", "Rob"]];
    write_xlsx(&book, &[("Old", first), ("New", second)]);
    let csv = write(dir.path(), "new.csv", "name,id\nZoë,1\nRob,2\n");
    let run = diff(&[&book, &csv, &"--key", &"id", &"--format", &"json"]);
    assert_eq!(
        run.status, 2,
        "the first sheet has a duplicate key: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("book.xlsx") && run.stderr.contains("lines 3, 4"),
        "spreadsheet duplicates name their row numbers: {}",
        run.stderr
    );
    let run = diff(&[
        &book,
        &csv,
        &"--key",
        &"id",
        &"--format",
        &"json",
        &"--sheet",
        &"New",
    ]);
    assert_eq!(
        run.status, 0,
        "sheet New equals the CSV: {}{}",
        run.stdout, run.stderr
    );
    let run = diff(&[&book, &csv, &"--key", &"id", &"--sheet", &"Nope"]);
    assert!(
        run.status == 2 && run.stderr.contains("Nope"),
        "an unknown sheet is named: {}",
        run.stderr
    );
}

#[test]
fn composite_keys_match_all_parts() {
    let dir = tempfile::tempdir().unwrap();
    let l = write(
        dir.path(),
        "l.csv",
        "country,sku,qty\nFR,A,1\nDE,A,2\nFR,B,3\n",
    );
    let r = write(
        dir.path(),
        "r.csv",
        "sku,country,qty\nA,DE,2\nA,FR,5\nB,DE,3\n",
    );
    let run = diff(&[&l, &r, &"--key", &"country,sku", &"--format", &"json"]);
    let v = json(&run);
    assert_eq!(
        summary(&v),
        [3, 3, 1, 1, 1, 1],
        "FR/A changed, DE/A same, FR/B removed, DE/B added"
    );
    assert_eq!(
        v["changed"][0],
        serde_json::json!({"key": {"country": "FR", "sku": "A"}, "changes": {"qty": {"left": "1", "right": "5"}}}),
        "the key object names every key column"
    );
    assert_eq!(v["removed"][0]["sku"], "B");
}
