//! One integration binary: every story starts the real app on port 0 over a fresh database and talks
//! HTTP to it. Each story runs on SQLite and on PostgreSQL (`GREENLINE_TEST_DATABASE_URL`, which
//! `scripts/test` sets; under `CI=true` a missing PostgreSQL fails the run instead of skipping).

mod harness;

mod attachments;
mod attacks;
mod authz;
mod backup;
mod challenges;
mod clients;
mod cluster;
mod crash;
mod demo;
mod duplicates;
mod fleet;
mod foundation;
mod hardening;
mod import;
mod journey;
mod notifications;
mod oversight;
mod people;
mod proof;
mod search;
mod signin;

pub use harness::{Backend, TestApp};
