//! Rate limiting per bearer token and per client IP: token buckets. With `GREENLINE_REDIS_URL` the buckets
//! live in Redis and every instance of a fleet draws from the same ones (one script per request, which
//! takes from the IP's bucket and the token's or from neither); without it, or while Redis does not answer,
//! each process keeps its own in memory (behind a load balancer that bounds the total at instances × rate).
//!
//! A request over either limit is answered `429` with `Retry-After` (whole seconds) and the `RATE_LIMITED`
//! code, before any work is done. Tokens are never kept: buckets are keyed by a SHA-256 prefix of the token.
//! Health, readiness and metrics are not limited (probes and scrapers must always get through).

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Token([u8; 16]),
    Ip(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Sustained requests per second and the burst allowed above it; a rate of 0 disables the limit.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

pub struct Limiter {
    per_token: Rate,
    per_ip: Rate,
    buckets: Mutex<HashMap<Key, Bucket>>,
    shared: Option<Shared>,
}

/// The buckets in Redis: keys `PREFIX:rl:ip:<address>` and `PREFIX:rl:token:<hash prefix>`, each a hash
/// of `tokens` and `at` (Redis's clock, ms) that expires once it would be full again.
struct Shared {
    redis: crate::redis::Redis,
    prefix: String,
    /// When the last "Redis does not answer" was logged (at most one line a minute).
    complained: Mutex<Option<Instant>>,
    /// Until when Redis is not asked (after a failure, so that a Redis that hangs does not hold up every
    /// request by its deadline).
    resting: Mutex<Option<Instant>>,
}

/// How long Redis is left alone after it failed to answer.
const REDIS_RESPITE: Duration = Duration::from_secs(2);

/// Takes one request from each bucket in KEYS (ARGV: rate and burst per key), in order; stops at the first
/// that is empty without taking from the ones before it. Returns 0, or the milliseconds until there is room.
const TAKE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local left = {}
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local b = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = math.min(burst, (tonumber(b[1]) or burst) + math.max(0, now - (tonumber(b[2]) or now)) / 1000 * rate)
  if tokens < 1 then
    return math.ceil((1 - tokens) / rate * 1000)
  end
  left[i] = tokens - 1
end
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('HSET', key, 'tokens', tostring(left[i]), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
end
return 0
"#;

/// Buckets kept before idle (full) ones are dropped.
const MAX_BUCKETS: usize = 100_000;

impl Limiter {
    pub fn new(per_token: Rate, per_ip: Rate) -> Limiter {
        Limiter { per_token, per_ip, buckets: Mutex::new(HashMap::new()), shared: None }
    }

    /// Keeps the buckets in Redis, under keys starting with `prefix`.
    pub fn shared(mut self, redis: crate::redis::Redis, prefix: &str) -> Limiter {
        self.shared =
            Some(Shared { redis, prefix: prefix.to_owned(), complained: Mutex::new(None), resting: Mutex::new(None) });
        self
    }

    /// Takes one request from the bucket of `key`; `Err(wait)` when it is empty.
    fn take(&self, key: Key, rate: Rate, now: Instant) -> Result<(), Duration> {
        if rate.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            // Full buckets carry no information: forget them.
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate.per_second < rate.burst);
        }
        let b = buckets.entry(key).or_insert(Bucket { tokens: rate.burst, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate.per_second).min(rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate.per_second))
        }
    }

    /// Checks the IP first, then the token; both must have room. In Redis when configured (falling back
    /// to this process's buckets while it does not answer), else in memory.
    pub async fn check(&self, ip: Option<IpAddr>, token: Option<&str>) -> Result<(), Duration> {
        let token = token.map(token_key);
        let resting = |shared: &Shared| {
            shared.resting.lock().unwrap_or_else(|p| p.into_inner()).is_some_and(|until| Instant::now() < until)
        };
        if let Some(shared) = self.shared.as_ref().filter(|s| !resting(s)) {
            let mut keys = vec![];
            let mut args = vec![];
            for (key, rate) in [(ip.map(Key::Ip), self.per_ip), (token.map(Key::Token), self.per_token)] {
                if let Some(key) = key.filter(|_| rate.per_second > 0.0) {
                    keys.push(match key {
                        Key::Ip(ip) => format!("{}:rl:ip:{ip}", shared.prefix),
                        Key::Token(k) => format!("{}:rl:token:{}", shared.prefix, hex::encode(k)),
                    });
                    args.extend([rate.per_second.to_string(), rate.burst.to_string()]);
                }
            }
            if keys.is_empty() {
                return Ok(());
            }
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            match shared.redis.eval(TAKE, &keys, &args).await {
                Ok(crate::redis::Reply::Int(0)) => return Ok(()),
                Ok(crate::redis::Reply::Int(ms)) if ms > 0 => return Err(Duration::from_millis(ms as u64)),
                other => {
                    *shared.resting.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + REDIS_RESPITE);
                    let mut last = shared.complained.lock().unwrap_or_else(|p| p.into_inner());
                    if last.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                        *last = Some(Instant::now());
                        tracing::warn!(redis = %shared.redis.description, answer = ?other.map_err(|e| e.to_string()),
                            "shared rate limits unavailable; limiting per process meanwhile");
                    }
                }
            }
        }
        self.check_here(ip, token)
    }

    /// This process's buckets.
    fn check_here(&self, ip: Option<IpAddr>, token: Option<[u8; 16]>) -> Result<(), Duration> {
        let now = Instant::now();
        if let Some(ip) = ip {
            self.take(Key::Ip(ip), self.per_ip, now)?;
        }
        if let Some(k) = token {
            self.take(Key::Token(k), self.per_token, now)?;
        }
        Ok(())
    }
}

pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next.run(req).await;
    }
    let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let token = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(super::graphql::bearer);
    match state.services.limiter.check(ip, token).await {
        Ok(()) => next.run(req).await,
        Err(wait) => too_many(wait),
    }
}

/// A bucket's name for a token: the first 16 bytes of its SHA-256 (the token itself is never kept).
fn token_key(token: &str) -> [u8; 16] {
    let digest = Sha256::digest(token.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&digest[..16]);
    k
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let body = serde_json::json!({"errors": [{
        "message": format!("too many requests; try again in {secs} s / 请求过于频繁，请{secs}秒后再试"),
        "extensions": {"code": "RATE_LIMITED", "retryAfterSeconds": secs}
    }]});
    let mut res = (StatusCode::TOO_MANY_REQUESTS, body.to_string()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_at_the_rate_and_hold_the_burst() {
        let l = Limiter::new(Rate { per_second: 2.0, burst: 3.0 }, Rate { per_second: 0.0, burst: 0.0 });
        let t0 = Instant::now();
        let key = Key::Token([1; 16]);
        let rate = l.per_token;
        for _ in 0..3 {
            assert!(l.take(key, rate, t0).is_ok());
        }
        let wait = l.take(key, rate, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        assert!(l.take(key, rate, t0 + Duration::from_millis(500)).is_ok(), "one request back after 0.5 s");
        assert!(l.take(key, rate, t0 + Duration::from_millis(500)).is_err());
        assert!(l.take(Key::Token([2; 16]), rate, t0).is_ok(), "another token has its own bucket");
        // A rate of 0 means no limit.
        for _ in 0..1000 {
            assert!(l.check_here(Some("127.0.0.1".parse().unwrap()), None).is_ok());
        }
    }
}
