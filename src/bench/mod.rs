//! Benchmark data: pairs of CSV exports with known differences, and the
//! truth to check a diff against.
//!
//! [`generate`] writes `left.csv` and `right.csv` of `rows` rows with 13
//! mixed-type columns (ids, names with non-ASCII letters, emails, phones,
//! countries, prices, quantities, dates, timestamps, status codes, SKUs,
//! discounts, free text with commas and quotes). The right file is the left
//! one shuffled, with about 1 % of rows removed, 1 % added and 5 % changed in
//! one to three cells. Everything follows from the seed, so a size and a seed
//! always give the same files; [`Truth`] (written as `truth.json`) lists the
//! exact expected differences, and [`Truth::check`] compares a diff's JSON
//! output with it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufWriter;
use std::path::Path;

use crate::error::{Error, Result};

/// The generated columns, in file order; `id` is the key.
pub const COLUMNS: [&str; 13] = [
    "id",
    "name",
    "email",
    "phone",
    "country",
    "price",
    "quantity",
    "order_date",
    "updated_at",
    "status",
    "sku",
    "discount",
    "note",
];

const FIRST: [&str; 16] = [
    "Zoë", "José", "Łukasz", "Anaïs", "Søren", "Çağla", "Jürgen", "Ngọc", "Émile", "Ana", "Björn",
    "Hélène", "Dmitrij", "Aoife", "Mateus", "Zsófia",
];
const LAST: [&str; 16] = [
    "Müller",
    "Núñez",
    "Żółć",
    "Dubois",
    "Ødegård",
    "Yılmaz",
    "Schäfer",
    "Nguyễn",
    "Lefèvre",
    "García",
    "Åberg",
    "Côté",
    "Ivanov",
    "O'Brien",
    "Gonçalves",
    "Kovács",
];
const COUNTRIES: [&str; 8] = ["FR", "DE", "ES", "PL", "NO", "TR", "VN", "BR"];
const STATUSES: [&str; 5] = ["NEW", "PAID", "SHIPPED", "CANCELLED", "RETURNED"];
const NOTES: [&str; 8] = [
    "Call before 5pm, ask for \"Bob\"",
    "Leave at the door",
    "Fragile: glass, handle with care",
    "Invoice to HQ, not the shop",
    "Gift \"wrap\" please",
    "",
    "Customer says: \"late again, third time\"",
    "Deliver Mon-Fri, 9-17",
];

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64, index: u64) -> Rng {
        let mut r = Rng(seed
            ^ stream.wrapping_mul(0xA076_1D64_78BD_642F)
            ^ index.wrapping_mul(0xE703_7ED1_A0B4_28DB));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The values of one generated row, in [`COLUMNS`] order.
fn row(seed: u64, id: u64) -> [String; 13] {
    let mut r = Rng::new(seed, 1, id);
    let first = r.pick(&FIRST);
    let last = r.pick(&LAST);
    let day = r.below(28) + 1;
    let month = r.below(12) + 1;
    [
        id.to_string(),
        format!("{first} {last}"),
        format!(
            "user{id}.{}@shop-mail{}.example.com",
            r.below(100),
            r.below(50)
        ),
        format!(
            "+33 6 {:02} {:02} {:02} {:02}",
            r.below(100),
            r.below(100),
            r.below(100),
            r.below(100)
        ),
        r.pick(&COUNTRIES).to_string(),
        format!("{}.{:02}", r.below(2000), r.below(100)),
        r.below(100).to_string(),
        format!("2024-{month:02}-{day:02}"),
        format!(
            "2024-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            r.below(24),
            r.below(60),
            r.below(60)
        ),
        r.pick(&STATUSES).to_string(),
        format!(
            "SKU-{:08}-{}",
            r.below(100_000_000),
            ["AB", "CD", "EF"][r.below(3) as usize]
        ),
        format!("0.{:02}", r.below(50)),
        match r.pick(&NOTES) {
            "" => String::new(),
            note => format!("{note} (ref {:05})", r.below(100_000)),
        },
    ]
}

/// Changes one to three non-key cells of a row; returns the changed columns.
fn mutate(seed: u64, id: u64, values: &mut [String; 13]) -> Vec<usize> {
    let mut r = Rng::new(seed, 2, id);
    let n = 1 + r.below(3) as usize;
    let mut cols: Vec<usize> = Vec::new();
    while cols.len() < n {
        let c = 1 + r.below(12) as usize;
        if !cols.contains(&c) {
            cols.push(c);
        }
    }
    for &c in &cols {
        let v = &mut values[c];
        *v = match c {
            5 => format!("{}.{:02}", 2000 + r.below(1000), r.below(100)),
            6 => (100 + r.below(100)).to_string(),
            12 => format!("changed, \"{}\"", r.below(1000)),
            _ if v.is_empty() => "x".to_string(),
            _ => format!("{v}~"),
        };
    }
    cols.sort_unstable();
    cols
}

/// The expected result of diffing a generated pair by `id`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Truth {
    /// The seed the pair was generated from.
    pub seed: u64,
    /// The expected counts.
    pub summary: crate::diff::Summary,
    /// Ids only in the right file.
    pub added: BTreeSet<String>,
    /// Ids only in the left file.
    pub removed: BTreeSet<String>,
    /// Changed ids and the columns changed in each.
    pub changed: BTreeMap<String, BTreeSet<String>>,
}

/// Writes `left.csv`, `right.csv` and `truth.json` of `rows` rows into `dir`.
pub fn generate(dir: &Path, rows: u64, seed: u64) -> Result<Truth> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut fate = Rng::new(seed, 3, 0);
    // 0 kept, 1 removed, 2 changed.
    let kinds: Vec<u8> = (0..rows)
        .map(|_| match fate.below(1000) {
            0..10 => 1,
            10..60 => 2,
            _ => 0,
        })
        .collect();
    let added = rows / 100;
    let mut right_ids: Vec<u64> = (1..=rows)
        .filter(|&i| kinds[(i - 1) as usize] != 1)
        .collect();
    right_ids.extend(rows + 1..=rows + added);
    let mut shuffle = Rng::new(seed, 4, 0);
    for i in (1..right_ids.len()).rev() {
        let j = shuffle.below(i as u64 + 1) as usize;
        right_ids.swap(i, j);
    }

    let write = |name: &str, ids: &mut dyn Iterator<Item = u64>, changed: bool| -> Result<()> {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut w = csv::WriterBuilder::new().from_writer(BufWriter::with_capacity(1 << 20, file));
        let err = |e: csv::Error| Error::io(&path, std::io::Error::other(e.to_string()));
        w.write_record(COLUMNS).map_err(err)?;
        for id in ids {
            let mut values = row(seed, id);
            if changed && id <= rows && kinds[(id - 1) as usize] == 2 {
                mutate(seed, id, &mut values);
            }
            w.write_record(&values).map_err(err)?;
        }
        w.flush().map_err(|e| Error::io(&path, e))
    };
    write("left.csv", &mut (1..=rows), false)?;
    write("right.csv", &mut right_ids.iter().copied(), true)?;

    let mut truth = Truth {
        seed,
        summary: crate::diff::Summary {
            left_rows: rows,
            right_rows: right_ids.len() as u64,
            ..Default::default()
        },
        added: (rows + 1..=rows + added).map(|i| i.to_string()).collect(),
        removed: BTreeSet::new(),
        changed: BTreeMap::new(),
    };
    for id in 1..=rows {
        match kinds[(id - 1) as usize] {
            1 => {
                truth.removed.insert(id.to_string());
            }
            2 => {
                let mut values = row(seed, id);
                let cols = mutate(seed, id, &mut values);
                truth.changed.insert(
                    id.to_string(),
                    cols.iter().map(|&c| COLUMNS[c].to_string()).collect(),
                );
            }
            _ => {}
        }
    }
    truth.summary.added = truth.added.len() as u64;
    truth.summary.removed = truth.removed.len() as u64;
    truth.summary.changed = truth.changed.len() as u64;
    truth.summary.unchanged = rows - truth.summary.removed - truth.summary.changed;
    let path = dir.join("truth.json");
    let text =
        serde_json::to_vec(&truth).map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    Ok(truth)
}

/// Reads `truth.json` from `dir` if a pair of `rows` rows from `seed` is
/// there, else generates one.
pub fn generate_cached(dir: &Path, rows: u64, seed: u64) -> Result<Truth> {
    let path = dir.join("truth.json");
    if let Ok(text) = std::fs::read(&path)
        && let Ok(truth) = serde_json::from_slice::<Truth>(&text)
        && truth.seed == seed
        && truth.summary.left_rows == rows
        && dir.join("left.csv").exists()
        && dir.join("right.csv").exists()
    {
        return Ok(truth);
    }
    generate(dir, rows, seed)
}

impl Truth {
    /// Checks a `trueup diff --format json` output (keyed by `id`) against the
    /// truth; returns every mismatch found (empty: exact).
    pub fn check(&self, output: &serde_json::Value) -> Vec<String> {
        let mut problems = Vec::new();
        match output
            .get("summary")
            .and_then(|s| serde_json::from_value::<crate::diff::Summary>(s.clone()).ok())
        {
            Some(s) if s == self.summary => {}
            Some(s) => problems.push(format!("summary {s:?}, expected {:?}", self.summary)),
            None => problems.push("no summary".into()),
        }
        let ids = |section: &str| -> BTreeSet<String> {
            output
                .get(section)
                .and_then(|v| v.as_array())
                .map(|rows| {
                    rows.iter()
                        .filter_map(|r| r.get("id").and_then(|v| v.as_str()).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        if ids("added") != self.added {
            problems.push("added rows differ from the truth".into());
        }
        if ids("removed") != self.removed {
            problems.push("removed rows differ from the truth".into());
        }
        let changed: BTreeMap<String, BTreeSet<String>> = output
            .get("changed")
            .and_then(|v| v.as_array())
            .map(|rows| {
                rows.iter()
                    .filter_map(|c| {
                        let id = c.get("key")?.get("id")?.as_str()?.to_string();
                        let cols = c.get("changes")?.as_object()?.keys().cloned().collect();
                        Some((id, cols))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if changed != self.changed {
            let wrong = changed
                .iter()
                .filter(|(k, v)| self.changed.get(*k) != Some(v))
                .count();
            let missing = self
                .changed
                .keys()
                .filter(|k| !changed.contains_key(*k))
                .count();
            problems.push(format!(
                "changed rows differ from the truth ({wrong} wrong or unexpected, {missing} missing)"
            ));
        }
        problems
    }
}
