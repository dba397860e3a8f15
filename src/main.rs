//! The `capwatch` binary: parse the command line, run, map the result to an
//! exit status (0 ok, 1 unexpected, 2 findings on request, 3 registry error).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = capwatch::cli::Cli::parse();
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
