//! Secrets in the OS keychain (the Secret Service on Linux, through the
//! `keyring` crate), behind the cargo feature `keychain`: the desktop app
//! enables it; the command line reads secrets from environment variables.
//!
//! A secret is stored under service [`SERVICE`] and an account name that the
//! configuration references as `password = { keychain = "ACCOUNT" }`; the
//! secret itself is never written to the workspace, the cache or a log, and
//! no error message contains it. When no keychain is reachable (no Secret
//! Service on the session bus), every function says so with
//! [`Error::Invalid`] and names the environment-variable alternative: there is
//! no plain-text fallback.

use crate::error::{Error, Result};

/// The keychain service name of every Trueup secret.
pub const SERVICE: &str = "trueup";

fn unavailable(detail: impl std::fmt::Display) -> Error {
    Error::Invalid(format!(
        "the OS keychain is not available ({detail}); keep the secret in an environment variable \
         instead: password = {{ env = \"VAR\" }}"
    ))
}

#[cfg(feature = "keychain")]
mod imp {
    use super::*;

    fn entry(account: &str) -> Result<keyring::Entry> {
        if account.trim().is_empty() {
            return Err(Error::Invalid(
                "a keychain account name cannot be empty".into(),
            ));
        }
        if let Err(e) = keyring::Entry::store_status() {
            return Err(unavailable(e));
        }
        keyring::Entry::new(SERVICE, account).map_err(unavailable)
    }

    pub fn available() -> Result<()> {
        match keyring::Entry::store_status() {
            Ok(()) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub fn store(account: &str, secret: &str) -> Result<()> {
        entry(account)?.set_password(secret).map_err(|e| match e {
            keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => {
                unavailable(e)
            }
            e => Error::Invalid(format!(
                "keychain entry {account:?} could not be saved: {e}"
            )),
        })
    }

    pub fn get(account: &str) -> Result<String> {
        entry(account)?.get_password().map_err(|e| match e {
            keyring::Error::NoEntry => Error::NotFound(format!(
                "the OS keychain has no secret for {account:?} (service {SERVICE:?}); enter it again in the app"
            )),
            keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => {
                unavailable(e)
            }
            e => Error::Invalid(format!("keychain entry {account:?} could not be read: {e}")),
        })
    }

    pub fn delete(account: &str) -> Result<()> {
        match entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(Error::Invalid(format!(
                "keychain entry {account:?} could not be deleted: {e}"
            ))),
        }
    }
}

#[cfg(not(feature = "keychain"))]
mod imp {
    use super::*;

    const WHY: &str = "this build of Trueup has no keychain support (cargo feature `keychain`)";

    pub fn available() -> Result<()> {
        Err(unavailable(WHY))
    }
    pub fn store(_account: &str, _secret: &str) -> Result<()> {
        Err(unavailable(WHY))
    }
    pub fn get(_account: &str) -> Result<String> {
        Err(unavailable(WHY))
    }
    pub fn delete(_account: &str) -> Result<()> {
        Err(unavailable(WHY))
    }
}

/// The keychain account of system `system` of the workspace in `dir`: one
/// secret per system and workspace.
pub fn account(dir: &std::path::Path, system: &str) -> String {
    format!("{system}@{}", dir.display())
}

/// `Ok` when the OS keychain can be used; otherwise why not, and what to do instead.
pub fn available() -> Result<()> {
    imp::available()
}

/// Stores `secret` under `account` (replacing an earlier one).
pub fn store(account: &str, secret: &str) -> Result<()> {
    imp::store(account, secret)
}

/// Reads the secret stored under `account`.
pub fn get(account: &str) -> Result<String> {
    imp::get(account)
}

/// Removes the secret stored under `account` (nothing to remove is fine).
pub fn delete(account: &str) -> Result<()> {
    imp::delete(account)
}
