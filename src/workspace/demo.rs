//! The demo workspace: an "ERP" customer list as a SQLite database and a
//! "CRM" contact export as CSV, with the usual mess — different column
//! names, phone and e-mail formatting, trailing spaces, status codes that
//! need a value map, a few duplicates, records only on one side, and real
//! conflicts. Generated deterministically (same seed, same data).

use std::path::Path;

use crate::error::{Error, Result};

/// How many ERP customers the demo holds.
pub const DEMO_CUSTOMERS: usize = 3000;

const CONFIG: &str = r#"# Trueup demo workspace: ERP customers (SQLite) reconciled with CRM contacts (CSV).
# Every field is documented in docs/config.md.

[workspace]
name = "Demo: ERP customers vs CRM contacts"

[systems.erp]
kind = "sqlite"
path = "data/erp.sqlite"

[systems.crm]
kind = "csv"
path = "data/crm_contacts.csv"

[entities.erp_customers]
system = "erp"
table = "customers"
id = ["id"]
updated_at = "updated_at"

[entities.crm_contacts]
system = "crm"
id = ["Contact ID"]
updated_at = "Last Modified"

# The same CRM contacts in a SQLite database: CSV systems are read-only, so
# reconciliation `customers_db` is the one the demo can push to.
[systems.crm_db]
kind = "sqlite"
path = "data/crm.sqlite"

[entities.crm_db_contacts]
system = "crm_db"
table = "contacts"
id = ["Contact ID"]
updated_at = "Last Modified"

[reconciliations.customers]
left = "erp_customers"
right = "crm_contacts"
key = ["Customer Number"]
default_country_code = "49"

[[reconciliations.customers.fields]]
target = "Customer Number"
source = "customer_no"
transforms = ["trim", "upper"]
validate = { required = true, regex = "C-[0-9]{5}" }

[[reconciliations.customers.fields]]
target = "Company Name"
source = "company"
transforms = ["collapse_spaces"]
compare = { ignore_whitespace = true }
validate = { required = true, max_length = 80 }

[[reconciliations.customers.fields]]
target = "Full Name"
sources = ["first_name", "last_name"]
separator = " "
transforms = ["collapse_spaces"]
compare = { ignore_whitespace = true }

[[reconciliations.customers.fields]]
target = "E-mail"
source = "email"
transforms = ["email"]
compare = { ignore_case = true, ignore_whitespace = true }
validate = { regex = "[^@ ]+@[^@ ]+\\.[a-z]{2,}", unique = true }

[[reconciliations.customers.fields]]
target = "Phone"
source = "phone"
transforms = ["phone"]

[[reconciliations.customers.fields]]
target = "City"
source = "city"
transforms = ["trim"]
compare = { ignore_whitespace = true }

[[reconciliations.customers.fields]]
target = "Status"
source = "status"
value_map = "status"
validate = { enum = ["active", "inactive", "prospect"] }

[[reconciliations.customers.fields]]
target = "Credit Limit"
source = "credit_limit"
transforms = [{ number = { scale = 2 } }]
ownership = "manual"
compare = { numeric = 0.005 }

[reconciliations.customers.value_maps.status]
file = "maps/status.csv"
ignore_case = true
"#;

/// The demo configuration: [`CONFIG`] plus `customers_db`, the same
/// reconciliation with the SQLite copy of the CRM as its (writable) target.
fn config() -> String {
    let start = CONFIG
        .find("[reconciliations.customers]")
        .expect("the demo configuration has the customers reconciliation");
    let copy = CONFIG[start..]
        .replace("reconciliations.customers", "reconciliations.customers_db")
        .replace("right = \"crm_contacts\"", "right = \"crm_db_contacts\"");
    format!("{CONFIG}\n{copy}")
}

const STATUS_MAP: &str = "source,target\r\nA,active\r\nI,inactive\r\nP,prospect\r\n";

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(1000) < percent * 10
    }
}

const FIRST: &[&str] = &[
    "Anna", "Jürgen", "Zoë", "José", "Łukasz", "Søren", "Chloé", "Mehmet", "Ines", "Björn",
    "Amélie", "Marek", "Olga", "Kenji", "Fatma", "Noah", "Émile", "Greta", "Tomás", "Aisha",
];
const LAST: &[&str] = &[
    "Müller",
    "Schmidt",
    "Sørensen",
    "Nowak",
    "García",
    "Dubois",
    "Öztürk",
    "Rossi",
    "Weiß",
    "Jensen",
    "Kowalski",
    "Lefèvre",
    "Hoffmann",
    "Schäfer",
    "Novák",
    "Martín",
    "Bauer",
    "Krüger",
    "Fischer",
    "Wagner",
];
const COMPANY_A: &[&str] = &[
    "Nordlicht",
    "Bergblick",
    "Rheinkraft",
    "Alpenglanz",
    "Hafen",
    "Sonnenhof",
    "Eichwald",
    "Blauwal",
    "Kupfer",
    "Seeblick",
    "Falken",
    "Mühlen",
    "Lindgren",
    "Über",
    "Zeder",
];
const COMPANY_B: &[&str] = &[
    "Logistik",
    "Bau",
    "Handel",
    "Technik",
    "Werke",
    "Design",
    "Consulting",
    "Foods",
    "Textil",
    "Media",
];
const FORMS: &[&str] = &["GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "SE"];
const CITIES: &[&str] = &[
    "Berlin",
    "München",
    "Köln",
    "Düsseldorf",
    "Hamburg",
    "Leipzig",
    "Nürnberg",
    "Frankfurt am Main",
    "Essen",
    "Münster",
];

fn ascii_fold(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            'ä' => "ae".chars().collect::<Vec<_>>(),
            'ö' | 'ø' => "oe".chars().collect(),
            'ü' => "ue".chars().collect(),
            'ß' => "ss".chars().collect(),
            'é' | 'è' | 'ë' => vec!['e'],
            'á' => vec!['a'],
            'ł' | 'Ł' => vec!['l'],
            'ó' => vec!['o'],
            c if c.is_ascii_alphanumeric() => vec![c.to_ascii_lowercase()],
            _ => vec![],
        })
        .collect()
}

/// Writes the demo configuration, data and value map into `dir`.
pub fn write_demo(dir: &Path) -> Result<()> {
    let data = dir.join("data");
    let maps = dir.join("maps");
    for d in [&data, &maps] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let config_path = dir.join(super::CONFIG_FILE);
    std::fs::write(&config_path, config()).map_err(|e| Error::io(&config_path, e))?;
    let map_path = maps.join("status.csv");
    std::fs::write(&map_path, STATUS_MAP).map_err(|e| Error::io(&map_path, e))?;

    let erp_path = data.join("erp.sqlite");
    if erp_path.exists() {
        std::fs::remove_file(&erp_path).map_err(|e| Error::io(&erp_path, e))?;
    }
    let mut erp = rusqlite::Connection::open(&erp_path).map_err(|e| Error::cache(&erp_path, e))?;
    let tx = erp.transaction().map_err(|e| Error::cache(&erp_path, e))?;
    tx.execute_batch(
        "CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            customer_no TEXT NOT NULL,
            company TEXT NOT NULL,
            first_name TEXT,
            last_name TEXT,
            email TEXT,
            phone TEXT,
            city TEXT,
            status TEXT NOT NULL,
            credit_limit REAL,
            updated_at TEXT NOT NULL
        );",
    )
    .map_err(|e| Error::cache(&erp_path, e))?;

    let csv_path = data.join("crm_contacts.csv");
    let mut out = Vec::new();
    out.extend_from_slice(b"\xEF\xBB\xBF");
    let mut crm = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    crm.write_record([
        "Contact ID",
        "Customer Number",
        "Company Name",
        "Full Name",
        "E-mail",
        "Phone",
        "City",
        "Status",
        "Credit Limit",
        "Last Modified",
    ])
    .map_err(|e| Error::io(&csv_path, std::io::Error::other(e)))?;

    let mut rng = Rng(0x5EED_7E0E_u64);
    let mut contact_id = 50_000;
    let mut crm_rows: Vec<[String; 10]> = Vec::new();
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO customers (id, customer_no, company, first_name, last_name, email, phone, city, status, credit_limit, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .map_err(|e| Error::cache(&erp_path, e))?;
        for i in 0..DEMO_CUSTOMERS {
            let id = 1000 + i as i64;
            let customer_no = format!("C-{:05}", 10_000 + i);
            let company = format!(
                "{} {} {}",
                rng.pick(COMPANY_A),
                rng.pick(COMPANY_B),
                rng.pick(FORMS)
            );
            let first = rng.pick(FIRST);
            let last = rng.pick(LAST);
            let domain = ascii_fold(&company.split(' ').take(2).collect::<String>());
            let email = format!("{}.{}@{}.de", ascii_fold(first), ascii_fold(last), domain);
            let area = rng.pick(&["30", "40", "89", "221", "211", "341"]);
            let number = 1_000_000 + rng.below(8_999_999);
            let phone_erp = format!("0{area} {number}");
            let phone_crm = format!("+49{area}{number}");
            let city = rng.pick(CITIES);
            let status_code = match rng.below(100) {
                0..=69 => "A",
                70..=84 => "I",
                85..=98 => "P",
                _ => "X", // a code nobody mapped yet
            };
            let status_crm = match status_code {
                "A" => "active",
                "I" => "inactive",
                _ => "prospect",
            };
            let credit = (rng.below(200) * 250) as f64;
            let day = 1 + rng.below(28);
            let updated = format!("2026-10-{day:02} 09:{:02}:00", rng.below(60));
            let mut erp_email = email.clone();
            if rng.chance(1) {
                erp_email = email.replace('@', " at "); // fails validation
            }
            ins.execute((
                id,
                &customer_no,
                &company,
                first,
                last,
                &erp_email,
                &phone_erp,
                city,
                status_code,
                credit,
                &updated,
            ))
            .map_err(|e| Error::cache(&erp_path, e))?;

            // 3% exist only in the ERP.
            if rng.chance(3) {
                continue;
            }
            // The CRM's copy, with its own mess.
            let mut c_company = company.clone();
            if rng.chance(10) {
                c_company.push_str("  "); // trailing spaces: equal under tolerance
            }
            let mut c_email = email.clone();
            if rng.chance(8) {
                c_email = c_email.to_uppercase(); // case only: equal under tolerance
            }
            let mut c_city = city.to_string();
            let mut c_name = format!("{first} {last}");
            let mut c_credit = format!("{credit:.2}");
            let mut c_status = status_crm.to_string();
            let mut c_phone = phone_crm.clone();
            match rng.below(100) {
                0..=4 => c_city = rng.pick(CITIES).to_string(), // moved: update
                5..=7 => c_name = format!("{} {}", rng.pick(FIRST), last), // new contact person: update
                8..=10 => c_credit = format!("{:.2}", credit + 500.0), // credit differs: manual conflict
                11..=12 => c_status = "inactive".into(),
                13..=14 => c_phone = format!("0{area}/{number}"), // national format: update to E.164
                _ => {}
            }
            let row = [
                contact_id.to_string(),
                customer_no.clone(),
                c_company,
                c_name,
                c_email,
                c_phone,
                c_city,
                c_status,
                c_credit,
                format!("2026-10-{:02}T10:00:00", 1 + rng.below(28)),
            ];
            contact_id += 1;
            // 1% entered twice in the CRM (duplicate customer number).
            if rng.chance(1) {
                let mut dup = row.clone();
                dup[0] = contact_id.to_string();
                contact_id += 1;
                crm_rows.push(dup);
            }
            crm_rows.push(row);
        }
    }
    tx.commit().map_err(|e| Error::cache(&erp_path, e))?;
    // 2% of contacts exist only in the CRM.
    for i in 0..DEMO_CUSTOMERS / 50 {
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        crm_rows.push([
            contact_id.to_string(),
            format!("C-{:05}", 90_000 + i),
            format!(
                "{} {} {}",
                rng.pick(COMPANY_A),
                rng.pick(COMPANY_B),
                rng.pick(FORMS)
            ),
            format!("{first} {last}"),
            format!("{}@example.org", ascii_fold(last)),
            String::new(),
            rng.pick(CITIES).to_string(),
            "prospect".into(),
            "0.00".into(),
            "2026-11-02T08:00:00".into(),
        ]);
        contact_id += 1;
    }
    // Exports are rarely in key order.
    for i in (1..crm_rows.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        crm_rows.swap(i, j);
    }
    for row in &crm_rows {
        crm.write_record(row)
            .map_err(|e| Error::io(&csv_path, std::io::Error::other(e)))?;
    }
    let bytes = crm
        .into_inner()
        .map_err(|e| Error::io(&csv_path, std::io::Error::other(e.to_string())))?;
    std::fs::write(&csv_path, bytes).map_err(|e| Error::io(&csv_path, e))?;
    write_crm_db(&data.join("crm.sqlite"), &crm_rows)
}

/// The CRM contacts as a SQLite table `contacts` with the CSV's columns.
fn write_crm_db(path: &Path, rows: &[[String; 10]]) -> Result<()> {
    if path.exists() {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    }
    let err = |e| Error::cache(path, e);
    let mut db = rusqlite::Connection::open(path).map_err(err)?;
    let tx = db.transaction().map_err(err)?;
    tx.execute_batch(
        r#"CREATE TABLE contacts (
            "Contact ID" INTEGER PRIMARY KEY,
            "Customer Number" TEXT,
            "Company Name" TEXT,
            "Full Name" TEXT,
            "E-mail" TEXT,
            "Phone" TEXT,
            "City" TEXT,
            "Status" TEXT,
            "Credit Limit" TEXT,
            "Last Modified" TEXT
        );"#,
    )
    .map_err(err)?;
    {
        let mut ins = tx
            .prepare("INSERT INTO contacts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
            .map_err(err)?;
        for row in rows {
            let blank = |s: &String| (!s.is_empty()).then(|| s.clone());
            ins.execute(rusqlite::params![
                row[0].parse::<i64>().ok(),
                blank(&row[1]),
                blank(&row[2]),
                blank(&row[3]),
                blank(&row[4]),
                blank(&row[5]),
                blank(&row[6]),
                blank(&row[7]),
                blank(&row[8]),
                blank(&row[9]),
            ])
            .map_err(err)?;
        }
    }
    tx.commit().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Workspace;
    use crate::progress::{Actor, Silent};
    use crate::push::{PushOptions, State};
    use crate::reconcile::{Filter, Kind};
    use crate::review::Verdict;

    /// The demo's `customers_db` can be pushed to: approved updates land in
    /// the CRM's SQLite copy.
    #[test]
    fn the_demo_pushes_to_its_sqlite_crm() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init_demo(dir.path()).unwrap();
        let (now, actor) = ("2026-11-25T10:00:00Z", Actor::os_user("test"));
        let silent = Silent::default();
        crate::pull::pull_sides(&mut ws, "customers_db", now, &actor, &silent).unwrap();
        let summary =
            crate::reconcile::reconcile(&mut ws, "customers_db", now, &actor, &silent).unwrap();
        let customers_csv = {
            crate::pull::pull_sides(&mut ws, "customers", now, &actor, &silent).unwrap();
            crate::reconcile::reconcile(&mut ws, "customers", now, &actor, &silent).unwrap()
        };
        assert_eq!(
            summary.counts, customers_csv.counts,
            "the SQLite copy holds the same contacts as the CSV"
        );
        let updates = Filter {
            kinds: vec![Kind::Update],
            field: Some("City".into()),
            ..Filter::default()
        };
        let bulk = ws
            .decide_all("customers_db", &updates, Verdict::Approve, now, &actor)
            .unwrap();
        assert!(bulk.decided > 0);
        let report = crate::push::push(
            &mut ws,
            "customers_db",
            &PushOptions::default(),
            now,
            &actor,
            &silent,
        )
        .unwrap();
        assert_eq!(report.entries.len() as u64, bulk.decided);
        assert!(
            report.entries.iter().all(|e| e.state == State::Applied),
            "{:?}",
            report.outcomes
        );
        let e = &report.entries[0];
        let city = e
            .values
            .iter()
            .find(|(f, _)| f == "City")
            .unwrap()
            .1
            .clone();
        let id: i64 = e.record[0].1.as_deref().unwrap().parse().unwrap();
        let db = rusqlite::Connection::open(dir.path().join("data/crm.sqlite")).unwrap();
        let stored: Option<String> = db
            .query_row(
                r#"SELECT "City" FROM contacts WHERE "Contact ID" = ?1"#,
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, city);

        // Listed, and rolled back: the city is the CRM's again.
        let pushes = crate::push::pushes(&ws.cache, "customers_db", 10).unwrap();
        assert_eq!(pushes.len(), 1);
        assert_eq!(Some(pushes[0].id), report.push_id);
        let back = crate::push::rollback(
            &mut ws,
            pushes[0].id,
            None,
            &PushOptions::default(),
            now,
            &actor,
            &silent,
        )
        .unwrap();
        assert!(back.entries.iter().all(|e| e.state == State::Applied));
        let before = e
            .before
            .iter()
            .find(|(f, _)| f == "City")
            .unwrap()
            .1
            .clone();
        let restored: Option<String> = db
            .query_row(
                r#"SELECT "City" FROM contacts WHERE "Contact ID" = ?1"#,
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(restored, before);
        let listed = crate::push::pushes(&ws.cache, "customers_db", 10).unwrap();
        assert_eq!(
            (listed.len(), listed[0].kind.as_str(), listed[0].rollback_of),
            (2, "rollback", report.push_id),
            "newest first"
        );
    }
}
