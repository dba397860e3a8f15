//! The `capwatch` binary: parse the command line, run, map the result to an
//! exit status (0 ok, 1 unexpected, 2 findings on request, 3 registry error).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    tune_malloc();
    let cli = capwatch::cli::Cli::parse();
    if !cli.command.is_server() {
        quiet_on_closed_pipe();
    }
    match capwatch::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if let Some(cfg) = err.downcast_ref::<capwatch::config::ConfigError>() {
                eprintln!("{cfg}");
                return ExitCode::from(3);
            }
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// `capwatch alerts --json | head -1`: when the reader goes away, end
/// quietly as other command-line tools do, instead of panicking in
/// `println!` with "failed printing to stdout: Broken pipe". Rust ignores
/// SIGPIPE by default; the default action ends the process without a word.
/// Not for `run` and `serve`, whose sockets must see EPIPE as an error.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: resetting a signal to its default action before any other
    // thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// glibc gives threads that allocate at the same time arenas of their own (up
/// to eight per core) and keeps freed memory in each; with page parsing on a
/// few threads that retained memory was a fifth of the peak RSS of a check.
/// Two arenas serve the same work (measured: no CPU cost) in less memory.
///
/// glibc also raises its mmap threshold each time a large block is freed,
/// so page-sized buffers (bodies, decoded text) end up in the heap, where
/// freed ones are kept. A fixed 128 KB threshold (glibc's starting value)
/// gives them back: about 1 MB less peak RSS in a first check of 500 pages,
/// for about 5 % more CPU (bench/README.md, third round).
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
