//! The `absrate` binary: parse, run, print, exit. Everything else is in the library.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    match absrate::cli::run(std::env::args_os()) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`absrate ... | head`) is not an error worth reporting.
            let _ = stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush());
            ExitCode::SUCCESS
        }
        Err(absrate::cli::Failure::Clap(e)) => {
            let _ = e.print();
            ExitCode::from(e.exit_code() as u8)
        }
        Err(absrate::cli::Failure::Run(absrate::Error::TargetMissed { output, message })) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout
                .write_all(output.as_bytes())
                .and_then(|()| stdout.flush());
            eprintln!("{message}");
            ExitCode::from(absrate::Exit::TargetMissed as u8)
        }
        Err(absrate::cli::Failure::Run(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit() as u8)
        }
    }
}
