//! Setting up a reconciliation through the core, as the desktop's Setup
//! screen does: the mapping previewed on sample records of the demo's ERP,
//! the problems of an edited reconciliation named at their setting, and the
//! save round trip (transforms, value maps, rules, tolerances written to
//! `trueup.toml` and read back, the file's comments kept).

use std::collections::BTreeMap;

use trueup::Workspace;
use trueup::config::{Rules, Tolerance, Transform, ValueMapConfig};
use trueup::workspace::FieldPreview;

fn field<'a>(previews: &'a [FieldPreview], target: &str) -> &'a FieldPreview {
    previews
        .iter()
        .find(|p| p.target == target)
        .unwrap_or_else(|| panic!("a preview of {target}: {previews:?}"))
}

#[test]
fn the_preview_applies_transforms_value_maps_and_rules_to_sample_records() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init_demo(dir.path()).unwrap();
    let sample = ws.entity_sample("erp_customers", 50).unwrap();
    assert!(sample.fields.contains(&"customer_no".to_string()));
    assert_eq!(sample.rows.len(), 50, "the first 50 records are read");

    let mut recon = ws.reconciliation("customers").unwrap().clone();
    let previews = ws.preview_mapping("customers", &recon, &sample, 5);
    assert_eq!(previews.len(), recon.fields.len(), "one preview per field");
    let status = field(&previews, "Status");
    assert_eq!(status.values.len(), 5);
    for v in &status.values {
        assert!(
            matches!(
                v.output.as_deref(),
                Some("active" | "inactive" | "prospect")
            ),
            "the status codes go through the demo's value map file: {v:?}"
        );
        assert!(v.issue.is_none(), "every demo code is mapped: {v:?}");
    }

    // A transform added to the key: its effect shows on the samples.
    let key = recon
        .fields
        .iter_mut()
        .find(|f| f.target == "Customer Number")
        .unwrap();
    key.transforms.push(Transform::Affix {
        prefix: Some("ERP/".into()),
        suffix: None,
    });
    // A rule the values break, and a transform that fails on them.
    let company = recon
        .fields
        .iter_mut()
        .find(|f| f.target == "Company Name")
        .unwrap();
    company.validate.max_length = Some(3);
    let city = recon
        .fields
        .iter_mut()
        .find(|f| f.target == "City")
        .unwrap();
    city.transforms.push(Transform::Number {
        decimal: None,
        thousands: None,
        scale: None,
    });
    // An inline value map that knows only one of the codes.
    recon.value_maps.insert(
        "status".into(),
        ValueMapConfig {
            entries: BTreeMap::from([("A".to_string(), "active".to_string())]),
            ..Default::default()
        },
    );
    let previews = ws.preview_mapping("customers", &recon, &sample, 5);
    for v in &field(&previews, "Customer Number").values {
        let input = v.input.as_deref().unwrap();
        assert_eq!(
            v.output.as_deref(),
            Some(format!("ERP/{}", input.trim().to_uppercase()).as_str()),
            "trim, upper, then the prefix, in order"
        );
    }
    assert!(
        field(&previews, "Company Name")
            .values
            .iter()
            .all(|v| v.rules.iter().any(|r| r.contains("at most 3"))),
        "the rule is checked on the computed values: {:?}",
        field(&previews, "Company Name")
    );
    assert!(
        field(&previews, "City").values.iter().all(|v| v
            .issue
            .as_deref()
            .is_some_and(|i| i.contains("not a number"))),
        "a transform that fails says why"
    );
    let status = field(&previews, "Status");
    assert!(
        status
            .values
            .iter()
            .any(|v| v.output.as_deref() == Some("active")),
        "{status:?}"
    );
    assert!(
        status
            .values
            .iter()
            .filter(|v| v.input.as_deref() != Some("A"))
            .all(|v| v
                .issue
                .as_deref()
                .is_some_and(|i| i.contains("not in value map"))),
        "an unknown code is a mapping issue, never passed through: {status:?}"
    );

    // A field whose source is not a column cannot be previewed, and says so.
    recon.fields[0].source = Some("nope".into());
    let previews = ws.preview_mapping("customers", &recon, &sample, 5);
    assert!(
        previews[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("\"nope\"")),
        "{:?}",
        previews[0]
    );
}

#[test]
fn problems_name_the_setting_they_concern() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init_demo(dir.path()).unwrap();
    let left = ws.entity_sample("erp_customers", 1).unwrap().fields;
    let good = ws.reconciliation("customers").unwrap().clone();
    assert_eq!(
        ws.reconciliation_problems("customers", &good, &left),
        vec![],
        "the demo reconciliation has none"
    );

    let mut bad = good.clone();
    let email = bad
        .fields
        .iter_mut()
        .find(|f| f.target == "E-mail")
        .unwrap();
    email.validate.regex = Some("[a-z".into());
    email.compare.numeric = Some(-1.0);
    let phone = bad.fields.iter_mut().find(|f| f.target == "Phone").unwrap();
    phone.source = Some("telephone".into());
    phone.transforms.push(Transform::Date {
        from: vec![],
        to: None,
    });
    let limit = bad
        .fields
        .iter_mut()
        .find(|f| f.target == "Credit Limit")
        .unwrap();
    limit.validate.min = Some(10.0);
    limit.validate.max = Some(1.0);
    bad.value_maps.get_mut("status").unwrap().file = Some("maps/missing.csv".into());
    bad.key = vec![];
    let problems = ws.reconciliation_problems("bad name", &bad, &left);
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    for expected in [
        "name",
        "key",
        "fields[E-mail].validate.regex",
        "fields[E-mail].compare.numeric",
        "fields[Phone].source",
        "fields[Phone].transforms[1]",
        "fields[Credit Limit].validate.max",
        "value_maps[status].file",
    ] {
        assert!(fields.contains(&expected), "{expected} in {problems:?}");
    }
    let regex = problems
        .iter()
        .find(|p| p.field == "fields[E-mail].validate.regex")
        .unwrap();
    assert_eq!(
        regex.message,
        "not a valid pattern: unclosed character class"
    );
    let file = problems
        .iter()
        .find(|p| p.field == "value_maps[status].file")
        .unwrap();
    assert!(file.message.contains("missing.csv"), "{file:?}");
}

#[test]
fn an_edited_reconciliation_is_saved_and_read_back_with_the_comments_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init_demo(dir.path()).unwrap();
    let path = dir.path().join("trueup.toml");
    let before = std::fs::read_to_string(&path).unwrap();

    let mut recon = ws.reconciliation("customers_db").unwrap().clone();
    let city = recon
        .fields
        .iter_mut()
        .find(|f| f.target == "City")
        .unwrap();
    city.transforms.push(Transform::Title);
    city.value_map = Some("cities".into());
    city.validate = Rules {
        required: true,
        max_length: Some(40),
        ..Default::default()
    };
    city.compare = Tolerance {
        ignore_case: true,
        ..Default::default()
    };
    let phone = recon
        .fields
        .iter_mut()
        .find(|f| f.target == "Phone")
        .unwrap();
    phone.transforms.push(Transform::Date {
        from: vec!["%d.%m.%Y".into()],
        to: Some("%Y-%m-%d".into()),
    });
    recon.value_maps.insert(
        "cities".into(),
        ValueMapConfig {
            entries: BTreeMap::from([("Koeln".to_string(), "Köln".to_string())]),
            ignore_case: true,
            ..Default::default()
        },
    );
    assert_eq!(
        ws.reconciliation_problems("customers_db", &recon, &[]),
        vec![]
    );
    ws.set_reconciliation("customers_db", recon.clone())
        .unwrap();

    let reopened = Workspace::open(dir.path()).unwrap();
    assert_eq!(
        reopened.reconciliation("customers_db").unwrap(),
        &recon,
        "transforms, value map, rules and tolerance read back as saved"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    for line in before.lines().filter(|l| l.starts_with('#')) {
        assert!(text.contains(line), "comment kept: {line}\n{text}");
    }
    // Written as a person would: short arrays on one line, defaults left out.
    for written in [
        "transforms = [\"trim\", \"title\"]",
        "compare = { ignore_case = true }",
        "validate = { required = true, max_length = 40 }",
        "value_map = \"cities\"",
    ] {
        assert!(text.contains(written), "{written} in\n{text}");
    }
    assert!(
        !text.contains("= false"),
        "defaults are not written: {text}"
    );
    assert!(!text.contains("ownership = \"left\""), "{text}");
    assert!(
        text.contains("Koeln = \"Köln\"") || text.contains("\"Koeln\" = \"Köln\""),
        "{text}"
    );
    assert_eq!(
        reopened.reconciliation("customers").unwrap(),
        ws.reconciliation("customers").unwrap(),
        "the other reconciliation is untouched"
    );
    let customers = before.find("[reconciliations.customers]").unwrap();
    let db = before.find("[reconciliations.customers_db]").unwrap();
    assert!(
        text.contains(&before[customers..db]),
        "the untouched reconciliation is written as it was"
    );
}
