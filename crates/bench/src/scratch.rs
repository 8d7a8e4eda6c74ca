//! The throwaway database each benchmark creates on the server it is
//! pointed at, and drops when it is done.

use chat_store::postgres;

pub struct Scratch {
    pub name: String,
    /// The server URL without a database name.
    base: String,
    /// The scratch database's URL.
    pub url: String,
}

impl Scratch {
    /// Name a database `chat_bench_<what>_<pid>` on the server of `server`
    /// (any database URL of it) and create it.
    pub async fn create(server: &str, what: &str) -> anyhow::Result<Scratch> {
        let name = format!("chat_bench_{what}_{}", std::process::id());
        let base = server
            .rsplit_once('/')
            .map_or(server, |(b, _)| b)
            .to_owned();
        let url = format!("{base}/{name}");
        postgres::ensure_database(&url).await?;
        Ok(Scratch { name, base, url })
    }

    /// Drop the database, ending any connection still open on it.
    pub async fn drop_database(self) -> anyhow::Result<()> {
        let admin = postgres::connect(&format!("{}/postgres", self.base), 1).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&admin)
        .await?;
        Ok(())
    }
}
