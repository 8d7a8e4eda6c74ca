//! The chat list with `mention_count` (issue 16). Two readers with the same
//! shape: each in `chats` direct chats holding [`UNREAD`] unread messages
//! from the peer; every one of them mentions the first reader, none the
//! second. Their chat lists are timed in alternating rounds, so both see
//! the same machine; the ratio is what counting mentions costs when every
//! unread message is one.

use uuid::Uuid;

use super::{Client, Seeder, direct_chat_id, send_mentioning};
use crate::report::{Summary, ms};

/// Unread messages per chat.
const UNREAD: u64 = 5;
/// Alternations of the two readers.
const ROUNDS: usize = 6;

pub(super) struct Twins {
    mentioned: Uuid,
    plain: Uuid,
}

pub(super) async fn seed(seeder: &Seeder, chats: usize) -> anyhow::Result<Twins> {
    let twins = Twins {
        mentioned: seeder.user().await?,
        plain: seeder.user().await?,
    };
    for (reader, mentions) in [
        (twins.mentioned, vec![twins.mentioned]),
        (twins.plain, Vec::new()),
    ] {
        for _ in 0..chats {
            let peer = seeder.user().await?;
            let chat = direct_chat_id(peer, reader);
            let sends = (0..UNREAD).map(|n| send_mentioning(chat, peer, n, mentions.clone()));
            seeder.direct(peer, reader, sends).await?;
        }
    }
    Ok(twins)
}

pub(super) async fn measure(
    client: &Client,
    twins: &Twins,
    chats: usize,
    samples: usize,
) -> anyhow::Result<()> {
    let path = || "/v1/chats?limit=50".to_owned();
    let (mentioned, plain) = (client.token(twins.mentioned)?, client.token(twins.plain)?);
    let per_round = (samples / ROUNDS).max(1);
    let (mut m, mut p) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        m.push(client.sample(&mentioned, path(), per_round).await?);
        p.push(client.sample(&plain, path(), per_round).await?);
    }
    let (m, p) = (merged(&m), merged(&p));
    println!();
    println!(
        "# Chat list with mention_count ({chats} chats, {UNREAD} unread each, \
         first page of 50; {ROUNDS} alternating rounds of {per_round})"
    );
    println!();
    println!("| reader | p50 ms | p99 ms |");
    println!("|---|---:|---:|");
    println!(
        "| every unread message mentions them | {} | {} |",
        ms(m.p50),
        ms(m.p99)
    );
    println!("| no mentions (baseline) | {} | {} |", ms(p.p50), ms(p.p99));
    println!();
    println!(
        "ratio mentioned ÷ plain p50: {:.2} (target ≤ 1.2)",
        m.p50.as_secs_f64() / p.p50.as_secs_f64()
    );
    Ok(())
}

/// The rounds' latencies as one summary (by their p50s and p99s: the
/// median round's p50 and the worst round's p99).
fn merged(rounds: &[Summary]) -> Summary {
    let mut p50s: Vec<_> = rounds.iter().map(|s| s.p50).collect();
    p50s.sort_unstable();
    Summary {
        ops: rounds.iter().map(|s| s.ops).sum(),
        elapsed: rounds.iter().map(|s| s.elapsed).sum(),
        p50: p50s[p50s.len() / 2],
        p99: rounds.iter().map(|s| s.p99).max().unwrap_or_default(),
        max: rounds.iter().map(|s| s.max).max().unwrap_or_default(),
    }
}
