//! Tracing set-up: human-readable text by default, JSON lines with `GREENLINE_LOG_FORMAT=json`.

use tracing_subscriber::{fmt, EnvFilter};

pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tantivy=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// For tests: quiet unless `RUST_LOG` asks otherwise, and safe to call many times.
pub fn init_for_test() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error"));
    let _ = fmt().with_env_filter(filter).with_test_writer().try_init();
}
