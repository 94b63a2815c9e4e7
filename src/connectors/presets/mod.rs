//! Presets: ready-made configurations of the generic REST system
//! ([`crate::connectors::rest`]) for well-known APIs. A preset system
//! (`kind = "hubspot"`) needs only its credentials; a preset entity
//! (`[entities.NAME.hubspot]`) only the object and the fields wanted. Both
//! expand into the REST system's own configuration, so a preset adds no
//! new code path: reading, paging, retries, errors and conditional writes
//! are the REST system's. See `docs/presets.md`.

pub mod hubspot;
pub mod vendure;

pub use hubspot::{HubspotEntityConfig, HubspotSystemConfig};
pub use vendure::{VendureEntityConfig, VendureSystemConfig};
