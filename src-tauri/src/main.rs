//! The Trueup desktop app.
//!
//! ```text
//! trueup-desktop                 start screen (open, create, demo, recent)
//! trueup-desktop DIR             open the workspace in DIR (also TRUEUP_WORKSPACE=DIR)
//! trueup-desktop --demo DIR      create the demo workspace in DIR unless it exists, and open it
//! ```
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use trueup_desktop::Startup;

/// mimalloc, as in the `trueup` command line: a push hands its journal
/// entries from one thread to another, and glibc's allocator spent a sixth
/// of the push's CPU consolidating their freed chunks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let startup = match args.next() {
        Some(flag) if flag == "--demo" => match args.next() {
            Some(dir) => Startup::Demo(dir.into()),
            None => {
                eprintln!("usage: trueup-desktop --demo DIR");
                std::process::exit(2);
            }
        },
        Some(dir) => Startup::Open(dir.into()),
        None => match std::env::var_os("TRUEUP_WORKSPACE") {
            Some(dir) if !dir.is_empty() => Startup::Open(dir.into()),
            _ => Startup::None,
        },
    };
    trueup_desktop::run(startup);
}
