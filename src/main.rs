//! The `tessera` binary: parse the command line, dispatch, report errors.

use clap::Parser;
use clap::error::ErrorKind;

use tessera::cli::{self, Cli};

// Requests allocate and free many small buffers across two or more worker
// threads; mimalloc does this measurably cheaper than glibc's malloc
// (benches/bench-token: about 3 points more of the RSA sign rate).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            std::process::exit(2);
        }
        Err(e) => {
            // One line: the error itself, without clap's usage block.
            let rendered = e.render().to_string();
            eprintln!(
                "{}",
                rendered
                    .lines()
                    .next()
                    .unwrap_or("error: invalid arguments")
            );
            std::process::exit(2);
        }
    };
    // Logging starts inside `run`, once the settings name its format.
    if let Err(e) = cli::run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
