//! The `chat` binary: parse configuration, set up telemetry, run.

use chat::App;
use chat::app::Parts;
use chat::cli::{Cli, Command, ProjectorAction, ServeArgs};
use chat_common::{shutdown_signal, telemetry};
use std::sync::Arc;

use chat_store::Upcasters;
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    chat::memory::give_memory_back();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args, Parts::ALL).await,
        Command::CommandApi(args) => {
            serve(
                args,
                Parts {
                    commands: true,
                    queries: false,
                    projector: false,
                    gateway: false,
                },
            )
            .await
        }
        Command::QueryApi(args) => {
            serve(
                args,
                Parts {
                    commands: false,
                    queries: true,
                    projector: false,
                    gateway: false,
                },
            )
            .await
        }
        Command::Gateway(args) => {
            serve(
                args,
                Parts {
                    commands: false,
                    queries: false,
                    projector: false,
                    gateway: true,
                },
            )
            .await
        }
        Command::Projector(args) => match args.action {
            None => {
                serve(
                    args.serve,
                    Parts {
                        commands: false,
                        queries: false,
                        projector: true,
                        gateway: false,
                    },
                )
                .await
            }
            Some(ProjectorAction::Rebuild { name }) => {
                telemetry::init(args.serve.log.log_format);
                let url = args.serve.database.database_url.expose();
                let pool = postgres::connect(url, 4).await?;
                chat::app::migrate(&pool).await?;
                let mut app = args.serve.app_config(Parts::ALL)?;
                app.command.auth.settle_master_key(&pool).await?;
                let pg = Arc::new(PgEventStore::new(
                    pool.clone(),
                    Upcasters::new(),
                    PgStoreConfig {
                        listen: false,
                        ..chat::app::store_config(&app.command.auth)
                    },
                ));
                // Replay the log from wherever it lives (EVENTSTORE_URL).
                let backend =
                    chat::app::EventStoreBackend::from_url(args.serve.eventstore_url.as_ref())?;
                let store = chat::app::open_event_store(&backend, &pg).await?;
                let which = (name != "all").then_some(name.as_str());
                let report = chat_projector::rebuild(&pool, store.as_ref(), which).await?;
                for p in report.projections {
                    println!(
                        "{}: {} events up to position {} in {:.1?}",
                        p.name, p.events, p.position, p.elapsed
                    );
                }
                Ok(())
            }
        },
        Command::Replay(args) => chat::audit_cli::replay(args).await,
        Command::Audit(args) => {
            if chat::audit_cli::audit(args).await? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Migrate(args) => {
            telemetry::init(args.log.log_format);
            let url = args.database.database_url.expose();
            postgres::ensure_database(url).await?;
            let pool = postgres::connect(url, 2).await?;
            chat::app::migrate(&pool).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs, parts: Parts) -> anyhow::Result<()> {
    telemetry::init(args.log.log_format);
    let app = App::build_with_gateway(args.app_config(parts)?, args.gateway_config())
        .await?
        .with_shutdown_grace(std::time::Duration::from_secs(args.shutdown_grace_secs));
    app.run_until_stopped(shutdown_signal()).await
}
