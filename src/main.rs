use clap::Parser;

/// mimalloc instead of glibc's allocator: indexing allocates and frees many small buffers per document, and
/// glibc's malloc and free were ~15 % of a catch-up's CPU (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = greenline::config::Cli::parse();
    greenline::telemetry::init(&cli.config.log_format);
    match greenline::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
