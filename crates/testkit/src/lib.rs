//! # chat-testkit
//!
//! Test support shared by every crate's integration tests: each test gets its
//! own freshly created Postgres database (`chat_test_<uuid>`), so tests run in
//! parallel without seeing each other, against the real server.
//!
//! The server comes from `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); only its host, port and
//! credentials are used.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// A database that exists for one test and is dropped with it.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin: PgConnectOptions,
}

fn server() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl TestDb {
    /// Create an empty database with a unique name.
    pub async fn create() -> TestDb {
        let admin = PgConnectOptions::from_str(&server())
            .expect("TEST_DATABASE_URL is a Postgres URL")
            .database("postgres");
        let name = format!("chat_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin.connect().await.expect("connect to the test server");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        let _ = conn.close().await;
        let url = format!("{}/{name}", base_url(&server()));
        TestDb { name, url, admin }
    }

    /// A URL for a database that does not exist yet (for tests of creation).
    pub fn unborn() -> TestDb {
        let admin = PgConnectOptions::from_str(&server())
            .expect("TEST_DATABASE_URL is a Postgres URL")
            .database("postgres");
        let name = format!("chat_test_{}", uuid::Uuid::new_v4().simple());
        let url = format!("{}/{name}", base_url(&server()));
        TestDb { name, url, admin }
    }

    pub async fn pool(&self, max_connections: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .connect(&self.url)
            .await
            .expect("connect to the test database")
    }
}

/// The URL without its database path.
fn base_url(url: &str) -> String {
    let without_query = url.split('?').next().unwrap_or(url);
    match without_query.rfind('/') {
        Some(i)
            if without_query[..i].contains("://")
                && i > without_query.find("://").unwrap_or(0) + 2 =>
        {
            without_query[..i].to_owned()
        }
        _ => without_query.to_owned(),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Async drop does not exist; drop the database from a short-lived
        // runtime on its own thread (FORCE ends the test's connections).
        let admin = self.admin.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok(mut c) = admin.connect().await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                        let _ = c.close().await;
                    }
                });
            }
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::base_url;

    #[test]
    fn base_url_strips_the_database() {
        assert_eq!(
            base_url("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432"
        );
        assert_eq!(
            base_url("postgres://u:p@h/db?sslmode=disable"),
            "postgres://u:p@h"
        );
    }
}
