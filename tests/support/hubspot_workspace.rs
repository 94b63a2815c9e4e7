//! The workspace both HubSpot test files use: `people.csv` (email, first,
//! last, phone) reconciled into a HubSpot CRM's contacts, known by e-mail.

use super::TempWorkspace;

/// A workspace pushing `people` to the HubSpot API at `url` (token from
/// `TRUEUP_HUBSPOT_TOKEN`): `fields` are the reconciliation's (target,
/// source) pairs, `timeouts` the connect and request timeouts in seconds.
pub fn workspace(
    url: &str,
    people: &str,
    timeouts: (u64, u64),
    fields: &[(&str, &str)],
) -> TempWorkspace {
    let (connect, total) = timeouts;
    let mut config = format!(
        r#"
[systems.people]
kind = "csv"
path = "people.csv"

[systems.crm]
kind = "hubspot"
token = {{ env = "TRUEUP_HUBSPOT_TOKEN" }}
base_url = "{url}"
http = {{ connect_timeout_secs = {connect}, timeout_secs = {total}, max_retries = 4, retry_min_delay_ms = 5, retry_max_delay_ms = 50, max_retry_after_secs = 5 }}

[entities.people]
system = "people"
id = ["email"]

[entities.contacts]
system = "crm"
id = ["email"]

[entities.contacts.hubspot]
object = "contacts"
properties = ["email", "firstname", "lastname", "phone"]

[reconciliations.c]
left = "people"
right = "contacts"
key = ["email"]
"#
    );
    for (target, source) in fields {
        config.push_str(&format!(
            "\n[[reconciliations.c.fields]]\ntarget = \"{target}\"\nsource = \"{source}\"\n"
        ));
    }
    TempWorkspace::new(&config, &[("people.csv", people)])
}
