use clap::Parser;

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
