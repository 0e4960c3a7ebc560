//! One error type for the whole service, with a stable machine-readable [`ErrorCode`].
//!
//! The code is what clients branch on: it becomes `extensions.code` in GraphQL errors, `userErrors.code` in
//! mutation payloads, and picks the HTTP status for plain HTTP endpoints. Messages are for people and carry
//! both English and Chinese where a worker may read them. Internal errors are logged once, with detail,
//! and shown to clients only as a generic message.

use async_graphql::{Enum, ErrorExtensions};

/// Stable error codes. Never rename a variant: clients match on the string. 稳定的错误码，客户端按字符串判断，永不改名。
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// No valid credentials: sign in again. 未登录或令牌无效，请重新登录。
    Unauthenticated,
    /// Signed in, but not allowed to do this. 无权执行此操作。
    Forbidden,
    /// It does not exist, or the viewer may not see it. 不存在或无权查看。
    NotFound,
    /// An input is not valid; `field` names it. 输入不合法（field 指明字段）。
    ValidationFailed,
    /// The proposal's status does not allow this now. 提案当前状态不允许此操作。
    InvalidTransition,
    /// Someone changed it since you loaded it: reload and try again. 已被他人修改，请刷新后重试。
    VersionConflict,
    /// A reviewer may not review their own or their team's proposal. 评审人不得评审本人或本班组的提案。
    ConflictOfInterest,
    /// Too few evaluations to decide yet. 评审份数不足，尚不能决定。
    NotEnoughEvaluations,
    /// It exists already. 已存在。
    AlreadyExists,
    /// A file or the request is larger than allowed. 文件或请求过大。
    PayloadTooLarge,
    /// A file of a type that is not accepted. 文件类型不受支持。
    UnsupportedMediaType,
    /// Too many requests: wait `retryAfterSeconds`. 请求过于频繁，请稍后再试。
    RateLimited,
    /// An infrastructure fault (the database or storage unreachable, restarted or overloaded): retry. 基础设施故障（数据库或存储不可达、重启或过载）：请重试。
    ServiceUnavailable,
    /// The server failed; it is logged. 服务器内部错误（已记录）。
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::ValidationFailed => "VALIDATION_FAILED",
            ErrorCode::InvalidTransition => "INVALID_TRANSITION",
            ErrorCode::VersionConflict => "VERSION_CONFLICT",
            ErrorCode::ConflictOfInterest => "CONFLICT_OF_INTEREST",
            ErrorCode::NotEnoughEvaluations => "NOT_ENOUGH_EVALUATIONS",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden | ErrorCode::ConflictOfInterest => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::VersionConflict | ErrorCode::AlreadyExists => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::Internal => 500,
            _ => 400,
        }
    }
}

/// The service's error: a code, a message a person can act on, and the input field it concerns.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    User { code: ErrorCode, message: String, field: Option<String> },
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
    /// An infrastructure fault the client should retry: logged with its detail, shown as a generic message.
    #[error("service unavailable: {0:#}")]
    Unavailable(anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::User { code, message: message.into(), field: None }
    }

    pub fn field(code: ErrorCode, field: &str, message: impl Into<String>) -> Self {
        AppError::User { code, message: message.into(), field: Some(field.to_owned()) }
    }

    pub fn forbidden(what: &str) -> Self {
        Self::new(ErrorCode::Forbidden, format!("you are not allowed to {what} / 无权执行此操作"))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found / 未找到{what}"))
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::field(ErrorCode::ValidationFailed, field, message)
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::User { code, .. } => *code,
            AppError::Internal(_) => ErrorCode::Internal,
            AppError::Unavailable(_) => ErrorCode::ServiceUnavailable,
        }
    }

    /// The message shown to clients: internal details are logged here, once, and never shown.
    pub fn public_message(&self) -> String {
        match self {
            AppError::User { message, .. } => message.clone(),
            AppError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                "internal error; it has been logged / 服务器内部错误，已记录".to_owned()
            }
            AppError::Unavailable(e) => {
                tracing::warn!(error = %format!("{e:#}"), "service unavailable");
                "the service is briefly unavailable; try again in a moment / 服务暂时不可用，请稍后重试".to_owned()
            }
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return AppError::new(ErrorCode::AlreadyExists, "this record already exists / 记录已存在");
            }
            if db.is_foreign_key_violation() {
                return AppError::new(ErrorCode::NotFound, "a referenced record does not exist / 引用的记录不存在");
            }
        }
        if is_transient(&e) {
            return AppError::Unavailable(anyhow::Error::new(e));
        }
        AppError::Internal(anyhow::Error::new(e))
    }
}

/// Faults of the database's availability rather than of the request: no connection to be had, a connection
/// that broke or was terminated, a server shutting down or out of connections, a serialisation failure or
/// deadlock, SQLite busy. The client may retry them.
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL: class 08 connection exception, 57P01-03 shutdown, 53300 too many connections,
            // 40001 serialization failure, 40P01 deadlock. SQLite: 5 busy, 6 locked.
            code.starts_with("08") || ["57P01", "57P02", "57P03", "53300", "40001", "40P01", "5", "6"].contains(&&*code)
        }
        _ => false,
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        let code = e.code();
        let field = match &e {
            AppError::User { field, .. } => field.clone(),
            AppError::Internal(_) | AppError::Unavailable(_) => None,
        };
        async_graphql::Error::new(e.public_message()).extend_with(|_, ext| {
            ext.set("code", code.as_str());
            if let Some(f) = &field {
                ext.set("field", f.as_str());
            }
        })
    }
}

/// A refusal reported inside a mutation payload (`userErrors`), not as a top-level GraphQL error. 在操作结果（userErrors）中报告的拒绝，而非顶层 GraphQL 错误。
#[derive(async_graphql::SimpleObject, Clone, Debug)]
pub struct UserError {
    /// Path to the input field the error concerns, e.g. `["input", "title"]`; empty when it concerns the whole input. 出错的输入字段路径，例如 ["input", "title"]；涉及整个输入时为空。
    pub field: Vec<String>,
    /// A stable code to branch on. 稳定的错误码。
    pub code: ErrorCode,
    /// What went wrong, in words a person can act on (Chinese and English). 可据以处理的说明（中英文）。
    pub message: String,
}

impl From<AppError> for UserError {
    fn from(e: AppError) -> Self {
        let code = e.code();
        let message = e.public_message();
        let field = match e {
            AppError::User { field: Some(f), .. } => {
                std::iter::once("input".to_owned()).chain(f.split('.').map(str::to_owned)).collect()
            }
            _ => vec![],
        };
        UserError { field, code, message }
    }
}
