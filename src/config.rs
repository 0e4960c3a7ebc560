//! Configuration: one clap struct, every field settable by flag or `GREENLINE_*` environment variable.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "greenline", version, about = "greenline: workers' green ideas, from the shop floor to the industry")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP/GraphQL server (the default).
    Serve,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Rebuild the search index from the database.
    Reindex,
    /// Fill an empty database with a realistic demo data set (Chinese), for first contact.
    Demo,
    /// Write a consistent snapshot of a SQLite deployment (database and objects) into a new directory,
    /// while the server runs.
    Backup { dir: PathBuf },
    /// Bring a backup back: objects into GREENLINE_STORAGE, the database into GREENLINE_DATABASE_URL (stop the
    /// server first); the search index is rebuilt at the next start.
    Restore {
        dir: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
    /// Bring proposals or techniques in from a JSON Lines or CSV file (UTF-8 or GBK/GB18030).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Check a receipt or a green-skill record (a signed JSON file) offline: exit 0 when it is intact and
    /// signed, else 1 with what is wrong. With `--server`, also against that server: its published key, its
    /// chain and the proposal it stores.
    Verify {
        file: PathBuf,
        /// The server's public key (base64, as `/.well-known/greenline-key` gives it) to trust.
        #[arg(long)]
        key: Option<String>,
        /// The server's URL (e.g. https://greenline.example.cn): fetch its key and ask it about the receipt.
        #[arg(long)]
        server: Option<String>,
    },
    /// Check the event log's hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write the GraphQL schema (SDL) to a file, or to stdout with `-`.
    Schema {
        #[arg(default_value = "schema/schema.graphql")]
        out: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk the chain from the start (every event's hash, every link, every signed checkpoint, every
    /// submitted proposal against its submission's hashes); report the first broken link. Exit 0 when
    /// intact, 1 otherwise.
    Verify,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user (and the named enterprise, team or studio when missing); prints a bearer token on the last line.
    Add(UserAdd),
    /// Deactivate a person (by id: the number or the GraphQL id): their sessions end and their tokens stop
    /// working on every instance within a second.
    Deactivate { id: String },
    /// Let a deactivated person sign in again.
    Reactivate { id: String },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Revoke a token or a session (by id: the number or the GraphQL id, as `viewer.accessTokens` lists it).
    Revoke { id: String },
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Proposals. Fields (JSON keys or CSV headers): external_id, title*, body*, category, industry, enterprise
    /// (its name), status, submitted_at, decided_at, adopted_at, tags, authors, savings {electricity_kwh, coal_t,
    /// natural_gas_m3, steam_t, water_t, money_yuan, investment_yuan} (CSV: expected_<field>) and
    /// verified_savings (CSV: verified_<field>; required for ADOPTED and PROMOTED). * required.
    Proposals(ImportArgs),
    /// Catalogue techniques. Fields: external_id, name*, industry, scope, principle, key_parameters,
    /// typical_case, effect, investment_yuan, payback_years, promotion_potential. * required.
    Techniques(ImportArgs),
    /// A roster of people, matched by enterprise and employee number (importing it again changes nothing).
    /// Fields: employee_number* (工号), name* (姓名), enterprise* (企业; or --enterprise), industry, team (班组),
    /// studio (工作室), role (角色: WORKER, REVIEWER, STUDIO_LEAD, ENTERPRISE_ADMIN or 职工, 评审专家,
    /// 工作室负责人, 企业管理员), email (邮箱), oidc_subject (企业账号). Teams and studios are made when missing.
    Users(ImportArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// The file: JSON Lines (one object per line) or CSV with a header line.
    pub file: PathBuf,
    /// jsonl or csv; by default from the file name (.csv is CSV, anything else JSON Lines).
    #[arg(long, value_enum)]
    pub format: Option<crate::import::Format>,
    /// utf-8, gbk or gb18030; by default detected from a byte-order mark or the file's first 64 KiB.
    #[arg(long)]
    pub encoding: Option<String>,
    /// The enterprise (by name) of records that do not name one.
    #[arg(long)]
    pub enterprise: Option<String>,
    /// Records per transaction.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch: u32,
}

#[derive(Args, Debug, Clone)]
pub struct UserAdd {
    #[arg(long)]
    pub name: String,
    /// WORKER, REVIEWER, STUDIO_LEAD, ENTERPRISE_ADMIN, ASSOCIATION or ADMIN.
    #[arg(long)]
    pub role: String,
    #[arg(long)]
    pub enterprise: Option<String>,
    /// Industry of a newly created enterprise: MACHINERY, METALLURGY, BUILDING_MATERIALS or OTHER.
    #[arg(long)]
    pub industry: Option<String>,
    #[arg(long)]
    pub team: Option<String>,
    #[arg(long)]
    pub studio: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// Employee number (工号), unique within the enterprise; the roster import matches people by it.
    #[arg(long)]
    pub employee_number: Option<String>,
    /// Days the printed token is valid (default 90).
    #[arg(long, default_value_t = 90)]
    pub expires_in_days: u32,
    /// Link the user to this subject (`sub`) of the OpenID provider, so that signing in there is signing in
    /// as them.
    #[arg(long)]
    pub oidc_subject: Option<String>,
}

/// Settings shared by every subcommand.
#[derive(Args, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "GREENLINE_ADDR", default_value = "127.0.0.1:8080", global = true)]
    pub addr: SocketAddr,
    /// `postgres://…` for PostgreSQL; a path or `sqlite://path` for SQLite.
    #[arg(long, env = "GREENLINE_DATABASE_URL", default_value = "sqlite://data/greenline.db", global = true)]
    pub database_url: String,
    /// Connections this instance keeps to PostgreSQL at most (SQLite keeps 8). Over a fleet the sum must
    /// stay under the server's `max_connections`, or go through a pooler such as PgBouncer.
    #[arg(long, env = "GREENLINE_DATABASE_POOL_SIZE", default_value_t = 16, global = true)]
    pub database_pool_size: u32,
    /// `transaction` when `GREENLINE_DATABASE_URL` goes through a pooler in transaction mode (PgBouncer
    /// `pool_mode = transaction`, with `server_reset_query = DISCARD ALL` and `server_reset_query_always = 1`):
    /// reads then run inside transactions and no statement stays prepared. `none` otherwise.
    #[arg(long, env = "GREENLINE_DATABASE_POOLER", default_value = "none", value_parser = ["none", "transaction"], global = true)]
    pub database_pooler: String,
    /// A direct PostgreSQL connection for `LISTEN`, when `GREENLINE_DATABASE_URL` goes through a pooler in
    /// transaction mode (which cannot pass notifications on); without either, instances poll.
    #[arg(long, env = "GREENLINE_DATABASE_LISTEN_URL", global = true)]
    pub database_listen_url: Option<String>,
    /// SQLite only: `FULL` (each commit reaches the disk before it is acknowledged) or `NORMAL` (faster;
    /// survives a process kill, but a power cut or an OS crash may take back the last acknowledged writes).
    #[arg(long, env = "GREENLINE_SQLITE_SYNCHRONOUS", default_value = "FULL", value_parser = ["FULL", "NORMAL"], global = true)]
    pub sqlite_synchronous: String,
    /// A local directory, or `s3://bucket/prefix` (with the standard `AWS_*` variables).
    #[arg(long, env = "GREENLINE_STORAGE", default_value = "data/objects", global = true)]
    pub storage: String,
    /// Seconds one call to object storage may take; after a failure, uploads and downloads are refused
    /// with 503 for two seconds instead of each waiting this long.
    #[arg(long, env = "GREENLINE_STORAGE_TIMEOUT_SECS", default_value_t = 5, global = true)]
    pub storage_timeout_secs: u64,
    /// Directory of the on-disk search index.
    #[arg(long, env = "GREENLINE_INDEX_DIR", default_value = "data/index", global = true)]
    pub index_dir: PathBuf,
    /// Log format: `text` or `json`.
    #[arg(long, env = "GREENLINE_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
    /// Completed evaluations needed before a studio lead may decide.
    #[arg(long, env = "GREENLINE_MIN_EVALUATIONS", default_value_t = 2, global = true)]
    pub min_evaluations: u32,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "GREENLINE_MAX_BODY_BYTES", default_value_t = 24 * 1024 * 1024, global = true)]
    pub max_body_bytes: usize,
    /// Deepest GraphQL selection accepted.
    #[arg(long, env = "GREENLINE_MAX_QUERY_DEPTH", default_value_t = 16, global = true)]
    pub max_query_depth: usize,
    /// Largest cost of one GraphQL operation: every field costs 1, and a page of `first: N` costs N times
    /// what it selects (a list without page arguments counts as 10 items).
    #[arg(long, env = "GREENLINE_MAX_QUERY_COST", default_value_t = 10_000, global = true)]
    pub max_query_cost: u64,
    /// Largest attachment accepted, in bytes.
    #[arg(long, env = "GREENLINE_MAX_UPLOAD_BYTES", default_value_t = 20 * 1024 * 1024, global = true)]
    pub max_upload_bytes: usize,
    /// Most attachments one proposal may have.
    #[arg(long, env = "GREENLINE_MAX_ATTACHMENTS", default_value_t = 20, global = true)]
    pub max_attachments: usize,
    /// Seconds between sweeps for objects that no attachment references (0 disables the sweeper).
    #[arg(long, env = "GREENLINE_ORPHAN_SWEEP_SECS", default_value_t = 600, global = true)]
    pub orphan_sweep_secs: u64,
    /// An unreferenced object younger than this (seconds) is left alone: its upload may still be committing.
    #[arg(long, env = "GREENLINE_ORPHAN_GRACE_SECS", default_value_t = 3600, global = true)]
    pub orphan_grace_secs: u64,
    /// `redis://[:password@]host[:port][/db]`: rate limits shared by every instance that names the same
    /// Redis (per process without it, or while it does not answer).
    #[arg(long, env = "GREENLINE_REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// What this deployment's keys in Redis start with (several deployments may share one Redis).
    #[arg(long, env = "GREENLINE_REDIS_PREFIX", default_value = "greenline", global = true)]
    pub redis_prefix: String,
    /// Requests per second one bearer token may make, sustained (0: no limit).
    #[arg(long, env = "GREENLINE_RATE_LIMIT_PER_TOKEN", default_value_t = 20.0, global = true)]
    pub rate_limit_per_token: f64,
    /// Requests per second one client IP may make, sustained (0: no limit). A whole plant may share one IP.
    #[arg(long, env = "GREENLINE_RATE_LIMIT_PER_IP", default_value_t = 200.0, global = true)]
    pub rate_limit_per_ip: f64,
    /// How many seconds' worth of requests may come at once above the sustained rate.
    #[arg(long, env = "GREENLINE_RATE_LIMIT_BURST_SECS", default_value_t = 3.0, global = true)]
    pub rate_limit_burst_secs: f64,
    /// Most aliased fields one GraphQL document may hold.
    #[arg(long, env = "GREENLINE_MAX_ALIASES", default_value_t = 50, global = true)]
    pub max_aliases: usize,
    /// Seconds a request may take before it is answered 408 (exports stream past it once started).
    #[arg(long, env = "GREENLINE_REQUEST_TIMEOUT_SECS", default_value_t = 30, global = true)]
    pub request_timeout_secs: u64,
    /// Web origins allowed to call the API from a browser (CORS), comma-separated, e.g.
    /// `https://portal.example.com,http://localhost:5173`; none by default. Listed origins may send
    /// credentials.
    #[arg(long, env = "GREENLINE_CORS_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_origins: Vec<String>,
    /// Trusted documents: a JSON manifest of id → document text (what relay-compiler's `persistConfig.file`
    /// and GraphQL Codegen's client preset `persistedDocuments` write; Apollo's persisted-query manifest is
    /// read too). Clients then send only the id (`documentId`, `doc_id`, or
    /// `extensions.persistedQuery.sha256Hash`).
    #[arg(long, env = "GREENLINE_TRUSTED_DOCUMENTS", global = true)]
    pub trusted_documents: Option<std::path::PathBuf>,
    /// Run only the trusted documents: any other document is refused (`TRUSTED_DOCUMENT_REQUIRED`), and
    /// automatic persisted queries register nothing.
    #[arg(long, env = "GREENLINE_ONLY_TRUSTED", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub only_trusted: bool,
    /// Seconds a WebSocket may stay open without `connection_init` (then closed with 4408).
    #[arg(long, env = "GREENLINE_WS_INIT_TIMEOUT_SECS", default_value_t = 10, global = true)]
    pub ws_init_timeout_secs: u64,
    /// Subscriptions one WebSocket connection may run at once.
    #[arg(long, env = "GREENLINE_WS_MAX_SUBSCRIPTIONS", default_value_t = 20, global = true)]
    pub ws_max_subscriptions: usize,
    /// Subscriptions one bearer token (or, without one, one address) may run at once, over all connections.
    #[arg(long, env = "GREENLINE_WS_MAX_SUBSCRIPTIONS_PER_TOKEN", default_value_t = 50, global = true)]
    pub ws_max_subscriptions_per_token: usize,
    /// Messages per second one WebSocket connection may send, sustained (0: no limit); past it the
    /// connection is closed with 4429.
    #[arg(long, env = "GREENLINE_WS_MESSAGES_PER_SECOND", default_value_t = 10.0, global = true)]
    pub ws_messages_per_second: f64,
    /// How far back a subscription's `after` may reach, in events; a client further behind reloads through
    /// queries first.
    #[arg(long, env = "GREENLINE_WS_MAX_REPLAY", default_value_t = 1_000, global = true)]
    pub ws_max_replay: i64,
    /// Distinct searches whose results are kept until the index next changes (0: no cache).
    #[arg(long, env = "GREENLINE_SEARCH_CACHE_ENTRIES", default_value_t = search_index::DEFAULT_CACHE_ENTRIES, global = true)]
    pub search_cache_entries: usize,
    /// The URL people open, e.g. `https://greenline.example.com` (sign-in redirects back to it; cookies are
    /// `Secure` when it is https). Defaults to `http://<GREENLINE_ADDR>`.
    #[arg(long, env = "GREENLINE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// The enterprise's OpenID provider (its issuer URL; discovery reads
    /// `<issuer>/.well-known/openid-configuration`). Sign-in with it is offered when this and the client id
    /// are set.
    #[arg(long, env = "GREENLINE_OIDC_ISSUER", global = true)]
    pub oidc_issuer: Option<String>,
    #[arg(long, env = "GREENLINE_OIDC_CLIENT_ID", global = true)]
    pub oidc_client_id: Option<String>,
    #[arg(long, env = "GREENLINE_OIDC_CLIENT_SECRET", hide_env_values = true, global = true)]
    pub oidc_client_secret: Option<String>,
    /// The audience of the provider's access tokens (JWT) that API clients may present as bearer tokens;
    /// none are accepted when unset.
    #[arg(long, env = "GREENLINE_OIDC_AUDIENCE", global = true)]
    pub oidc_audience: Option<String>,
    /// The claims that carry a person's enterprise, team, studio, industry and role.
    #[arg(long, env = "GREENLINE_OIDC_CLAIM_ENTERPRISE", default_value = "greenline_enterprise", global = true)]
    pub oidc_claim_enterprise: String,
    #[arg(long, env = "GREENLINE_OIDC_CLAIM_TEAM", default_value = "greenline_team", global = true)]
    pub oidc_claim_team: String,
    #[arg(long, env = "GREENLINE_OIDC_CLAIM_STUDIO", default_value = "greenline_studio", global = true)]
    pub oidc_claim_studio: String,
    #[arg(long, env = "GREENLINE_OIDC_CLAIM_INDUSTRY", default_value = "greenline_industry", global = true)]
    pub oidc_claim_industry: String,
    #[arg(long, env = "GREENLINE_OIDC_CLAIM_ROLE", default_value = "greenline_role", global = true)]
    pub oidc_claim_role: String,
    /// Grant ASSOCIATION and ADMIN from the role claim too (otherwise claims grant ENTERPRISE_ADMIN at most).
    #[arg(long, env = "GREENLINE_OIDC_TRUST_ROLES", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub oidc_trust_roles: bool,
    /// Hours a signed-in browser session lasts.
    #[arg(long, env = "GREENLINE_SESSION_HOURS", default_value_t = 12, global = true)]
    pub session_hours: u32,
    /// The mail server for notifications: `smtps://user:password@host:465` (TLS from the start),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS), or `smtp://host:25` (unencrypted: a relay on
    /// the same host or network only). No e-mail is sent without it.
    #[arg(long, env = "GREENLINE_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// The sender of notification e-mails, e.g. `greenline <greenline@plant.example.com>`.
    #[arg(long, env = "GREENLINE_MAIL_FROM", default_value = "greenline <greenline@localhost>", global = true)]
    pub mail_from: String,
    /// Whether this instance sends notifications' e-mails and webhook calls and fires reminders (instances
    /// that only serve requests may turn it off; at least one must keep it on).
    #[arg(long, env = "GREENLINE_COURIER", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub courier: bool,
    /// Where webhooks may point: `public` addresses only, also `private` LAN ones (a plant's own systems),
    /// or `any` (loopback and link-local too: tests only).
    #[arg(long, env = "GREENLINE_WEBHOOK_TARGETS", default_value = "private", value_parser = ["public", "private", "any"], global = true)]
    pub webhook_targets: String,
    /// Seconds an instance holds a delivery it is attempting; another instance takes it over after that
    /// (a killed instance's deliveries are attempted again).
    #[arg(long, env = "GREENLINE_DELIVERY_LEASE_SECS", default_value_t = 60, global = true)]
    pub delivery_lease_secs: u64,
    /// Seconds between looks for reminders that fell due (review and milestone dates, digests).
    #[arg(long, env = "GREENLINE_REMINDER_SWEEP_SECS", default_value_t = 60, global = true)]
    pub reminder_sweep_secs: u64,
    /// Seconds added to the clock of reminders and deliveries: for trying reminders days ahead on a test
    /// deployment. Leave at 0 in production.
    #[arg(long, env = "GREENLINE_NOW_OFFSET_SECS", default_value_t = 0, allow_hyphen_values = true, global = true)]
    pub now_offset_secs: i64,
    /// The server's Ed25519 signing key (PKCS#8, base64) for the chain's checkpoints, receipts and skill
    /// records. Without it, a key is generated at first start and kept in the database (one for the
    /// fleet); set it to keep the private key out of the database and its backups.
    #[arg(long, env = "GREENLINE_SIGNING_KEY", hide_env_values = true, global = true)]
    pub signing_key: Option<String>,
    /// Seconds between signed checkpoints of the event chain's head (when it moved).
    #[arg(long, env = "GREENLINE_CHECKPOINT_SECS", default_value_t = 300, global = true)]
    pub checkpoint_secs: u64,
    /// Days after a rejection within which an author may appeal it.
    #[arg(long, env = "GREENLINE_APPEAL_DAYS", default_value_t = 30, global = true)]
    pub appeal_days: u32,
    /// Weighted score (0–10) that oversight compares decisions with: a rejection at or above it, or an
    /// acceptance below it, is listed as a decision against the scores.
    #[arg(long, env = "GREENLINE_OVERSIGHT_THRESHOLD", default_value_t = 6.0, global = true)]
    pub oversight_threshold: f64,
    /// Seconds given to in-flight requests on shutdown.
    #[arg(long, env = "GREENLINE_SHUTDOWN_TIMEOUT_SECS", default_value_t = 10, global = true)]
    pub shutdown_timeout_secs: u64,
}

impl Config {
    /// Defaults as if no flag and no variable were given (tests start from here).
    pub fn defaults() -> Config {
        Cli::parse_from(["greenline"]).config
    }

    /// The URL people open, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.addr),
        }
    }

    /// How to connect to the database.
    pub fn db_options(&self) -> crate::db::Options {
        crate::db::Options {
            pool_size: self.database_pool_size,
            pooler: crate::db::Pooler { transaction_mode: self.database_pooler == "transaction" },
            sqlite_durable: self.sqlite_synchronous == "FULL",
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database_url", &redact_url(&self.database_url))
            .field("database_listen_url", &self.database_listen_url.as_deref().map(redact_url))
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("storage", &self.storage)
            .field("index_dir", &self.index_dir)
            .field("min_evaluations", &self.min_evaluations)
            .field("public_url", &self.public_url)
            .field("oidc_issuer", &self.oidc_issuer)
            .finish_non_exhaustive()
    }
}

/// Hides the password of a URL so that it can be logged.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
        let mut c = Config::defaults();
        c.database_url = "postgres://u:secret@h/db".into();
        c.database_listen_url = Some("postgres://u:secret@h:5432/db".into());
        c.redis_url = Some("redis://:secret@h:6379".into());
        assert!(!format!("{c:?}").contains("secret"));
    }
}
