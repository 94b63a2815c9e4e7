//! `trueup`: the command line over the core library. Headless: for
//! scripting, scheduling and benchmarks. Every command is a thin layer:
//! parse the arguments, call the library, print the outcome.

mod cli;

/// mimalloc instead of the system allocator: a push hands 100 000 journal
/// entries from one thread to another, and glibc's allocator spent a sixth
/// of the push's CPU consolidating and unlinking their freed chunks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Behave like other Unix tools when the reader of our output goes away
    // (`trueup proposals | head`): end quietly instead of panicking.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(cli::main());
}
