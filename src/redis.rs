//! Just enough of a Redis client for the fleet's shared state: RESP2 over TCP, a few idle connections kept
//! for reuse, a deadline on every call, and `EVAL` (the rate limits are one script per request,
//! src/http/ratelimit.rs). `redis://[:password@]host[:port][/db]`.

use std::{sync::Mutex, time::Duration};

use anyhow::{bail, Context};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream},
    net::TcpStream,
};

/// A reply, as far as greenline reads them.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

type Conn = BufStream<TcpStream>;

pub struct Redis {
    addr: String,
    password: Option<String>,
    db: u32,
    timeout: Duration,
    idle: Mutex<Vec<Conn>>,
    /// Shown in logs (the password hidden).
    pub description: String,
}

/// Idle connections kept; more are opened when needed and closed after use.
const MAX_IDLE: usize = 8;
/// Bulk strings and arrays longer than this are refused as garbage.
const MAX_LEN: i64 = 1 << 20;

impl Redis {
    pub fn from_url(raw: &str) -> anyhow::Result<Redis> {
        let url = url::Url::parse(raw).with_context(|| format!("GREENLINE_REDIS_URL is not a URL: {raw}"))?;
        if url.scheme() != "redis" {
            bail!("GREENLINE_REDIS_URL must start with redis:// (TLS is not supported)");
        }
        let host = url.host_str().filter(|h| !h.is_empty()).unwrap_or("127.0.0.1");
        let port = url.port().unwrap_or(6379);
        let db = match url.path().trim_start_matches('/') {
            "" => 0,
            n => n.parse().with_context(|| format!("GREENLINE_REDIS_URL: {n} is not a database number"))?,
        };
        Ok(Redis {
            addr: format!("{host}:{port}"),
            password: url.password().map(str::to_owned),
            db,
            timeout: Duration::from_millis(500),
            idle: Mutex::new(vec![]),
            description: crate::config::redact_url(raw),
        })
    }

    async fn connect(&self) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(&self.addr).await?;
        stream.set_nodelay(true)?;
        let mut conn = BufStream::new(stream);
        if let Some(password) = &self.password {
            expect_ok(round_trip(&mut conn, &[b"AUTH", password.as_bytes()]).await?)?;
        }
        if self.db != 0 {
            expect_ok(round_trip(&mut conn, &[b"SELECT", self.db.to_string().as_bytes()]).await?)?;
        }
        Ok(conn)
    }

    /// Sends one command and reads its reply, within the deadline. A connection that failed is dropped.
    pub async fn call(&self, args: &[&[u8]]) -> anyhow::Result<Reply> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let work = async {
            let mut conn = match idle {
                Some(c) => c,
                None => self.connect().await?,
            };
            let reply = round_trip(&mut conn, args).await?;
            Ok::<_, anyhow::Error>((conn, reply))
        };
        let (conn, reply) = tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| anyhow::anyhow!("Redis at {} did not answer within {:?}", self.description, self.timeout))??;
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        Ok(reply)
    }

    /// `EVAL script keys args`.
    pub async fn eval(&self, script: &str, keys: &[&str], args: &[String]) -> anyhow::Result<Reply> {
        let count = keys.len().to_string();
        let mut all: Vec<&[u8]> = vec![b"EVAL", script.as_bytes(), count.as_bytes()];
        all.extend(keys.iter().map(|k| k.as_bytes()));
        all.extend(args.iter().map(|a| a.as_bytes()));
        match self.call(&all).await? {
            Reply::Error(e) => bail!("Redis refused the script: {e}"),
            r => Ok(r),
        }
    }
}

fn expect_ok(reply: Reply) -> anyhow::Result<()> {
    match reply {
        Reply::Status(_) => Ok(()),
        Reply::Error(e) => bail!("Redis: {e}"),
        other => bail!("Redis: unexpected reply {other:?}"),
    }
}

async fn round_trip(conn: &mut Conn, args: &[&[u8]]) -> anyhow::Result<Reply> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    conn.write_all(&out).await?;
    conn.flush().await?;
    read_reply(conn, 0).await
}

async fn read_line(conn: &mut Conn) -> anyhow::Result<String> {
    let mut line = Vec::new();
    let n = (&mut *conn).take(MAX_LEN as u64).read_until(b'\n', &mut line).await?;
    if n == 0 {
        bail!("Redis closed the connection");
    }
    if !line.ends_with(b"\r\n") {
        bail!("Redis sent a line without its end");
    }
    line.truncate(line.len() - 2);
    Ok(String::from_utf8_lossy(&line).into_owned())
}

fn read_reply(conn: &mut Conn, depth: u32) -> futures_util::future::BoxFuture<'_, anyhow::Result<Reply>> {
    Box::pin(async move {
        if depth > 8 {
            bail!("Redis sent replies nested too deep");
        }
        let line = read_line(conn).await?;
        let (kind, rest) = line.split_at(line.len().min(1));
        let number = || rest.parse::<i64>().with_context(|| format!("Redis sent {line:?}"));
        Ok(match kind {
            "+" => Reply::Status(rest.to_owned()),
            "-" => Reply::Error(rest.to_owned()),
            ":" => Reply::Int(number()?),
            "$" => match number()? {
                -1 => Reply::Bulk(None),
                n if (0..=MAX_LEN).contains(&n) => {
                    let mut buf = vec![0; n as usize + 2];
                    conn.read_exact(&mut buf).await?;
                    buf.truncate(n as usize);
                    Reply::Bulk(Some(buf))
                }
                n => bail!("Redis sent a bulk string of {n} bytes"),
            },
            "*" => match number()? {
                -1 => Reply::Array(None),
                n if (0..=MAX_LEN).contains(&n) => {
                    let mut items = Vec::with_capacity(n.min(64) as usize);
                    for _ in 0..n {
                        items.push(read_reply(conn, depth + 1).await?);
                    }
                    Reply::Array(Some(items))
                }
                n => bail!("Redis sent an array of {n} items"),
            },
            _ => bail!("Redis sent {line:?}"),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let r = Redis::from_url("redis://:s3cret@10.0.0.5:6380/2").unwrap();
        assert_eq!((r.addr.as_str(), r.password.as_deref(), r.db), ("10.0.0.5:6380", Some("s3cret"), 2));
        assert!(!r.description.contains("s3cret"));
        let r = Redis::from_url("redis://127.0.0.1").unwrap();
        assert_eq!((r.addr.as_str(), r.db), ("127.0.0.1:6379", 0));
        assert!(Redis::from_url("rediss://h").is_err());
        assert!(Redis::from_url("redis://h/x").is_err());
    }
}
