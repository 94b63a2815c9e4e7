//! How PostgreSQL failures become Trueup errors: classified by SQLSTATE or
//! by the kind of connection failure, with the server's own message, and
//! scrubbed of the password.

use crate::error::{Error, ErrorCode};

/// Where the failure happened, for the message (never the password).
pub struct Place<'a> {
    /// The system's name in the workspace.
    pub system: &'a str,
    /// `host:port/database`.
    pub address: String,
    /// The password to scrub from any message, when one is set.
    pub password: Option<&'a str>,
}

/// Classifies a driver error: an error answered by the server is classified
/// by its SQLSTATE; a failure to connect or a lost connection is `Network`.
pub fn classify(place: &Place<'_>, err: &postgres::Error) -> Error {
    let (code, message) = if let Some(db) = err.as_db_error() {
        let state = db.code().code();
        let code = match state {
            "28P01" | "28000" | "42501" => ErrorCode::Auth,
            "3D000" | "3F000" | "42P01" | "42703" | "42704" | "42883" => ErrorCode::NotFound,
            "57P01" | "57P02" | "57P03" | "08000" | "08003" | "08006" | "08001" | "08004" => {
                ErrorCode::Network
            }
            // Serialization failure, deadlock, lock not available, statement timeout.
            "40001" | "40P01" | "55P03" | "57014" => ErrorCode::Transient,
            // Too many connections.
            "53300" => ErrorCode::RateLimit,
            _ if state.starts_with("22") || state.starts_with("23") => ErrorCode::Validation,
            _ => ErrorCode::System,
        };
        let mut message = format!("PostgreSQL {}: {}", place.address, db.message());
        if let Some(detail) = db.detail() {
            message.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = db.hint() {
            message.push_str(&format!("; hint: {hint}"));
        }
        message.push_str(&format!(" [SQLSTATE {state}]"));
        (code, message)
    } else {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("authentication error") || lower.contains("password missing") {
            (
                ErrorCode::Auth,
                format!("PostgreSQL {}: {text}", place.address),
            )
        } else if err.is_closed()
            || lower.starts_with("error connecting")
            || lower.starts_with("error communicating")
            || lower.starts_with("timeout")
            || lower.starts_with("connection closed")
        {
            (
                ErrorCode::Network,
                format!(
                    "cannot reach PostgreSQL server at {}: {text}",
                    place.address
                ),
            )
        } else {
            (
                ErrorCode::System,
                format!("PostgreSQL {}: {text}", place.address),
            )
        }
    };
    Error::System {
        system: place.system.to_string(),
        code,
        message: scrub(message, place.password),
    }
}

/// Replaces every occurrence of the password in a message.
pub fn scrub(message: String, password: Option<&str>) -> String {
    match password {
        Some(p) if !p.is_empty() && message.contains(p) => message.replace(p, "********"),
        _ => message,
    }
}

/// Whether the connection is likely unusable after this error (reconnect next time).
pub fn connection_lost(err: &postgres::Error) -> bool {
    let text = err.to_string();
    err.is_closed()
        || [
            "error communicating",
            "error connecting",
            "timeout",
            "connection closed",
        ]
        .iter()
        .any(|start| text.starts_with(start))
        || err.as_db_error().is_some_and(|db| {
            db.code().code().starts_with("57P") || db.code().code().starts_with("08")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_scrubbed() {
        let out = scrub("failed for secret-pw here".into(), Some("secret-pw"));
        assert!(!out.contains("secret-pw"), "{out}");
        assert_eq!(
            scrub("plain".into(), Some("")),
            "plain",
            "an empty password scrubs nothing"
        );
    }
}
