use clap::Parser;

/// mimalloc instead of glibc's allocator: indexing allocates and frees many small buffers per document, and
/// glibc's malloc and free were ~15 % of a catch-up's CPU (BENCHMARKS.md). Built without transparent huge
/// pages (`no_thp`): mimalloc asked the kernel for them, and every fresh 2 MiB region was zeroed whole on its
/// first touch (`clear_page_erms` was 8.5 % of a server's CPU under a stream of submissions).
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
