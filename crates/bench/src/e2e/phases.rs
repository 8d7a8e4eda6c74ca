//! The phases of one `chat-bench e2e` run against one server.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use uuid::Uuid;

use super::E2eArgs;
use super::client::{Client, Flavor, User};
use crate::child::{hwm_kib, rss_kib};
use crate::load::{Clock, paced};
use crate::report::Summary;

/// One open-loop rate's result.
pub struct Open {
    pub e2e: Summary,
    pub ack: Summary,
    pub lost: usize,
}

/// A closed-loop run's result.
pub struct Closed {
    /// Sends answered per second.
    pub rate: f64,
    pub e2e: Summary,
    pub lost: usize,
}

pub struct Figures {
    pub flavor: Flavor,
    pub registration: Duration,
    pub idle_ack: Summary,
    pub idle_e2e: Summary,
    pub open: Vec<Open>,
    pub closed: Closed,
    /// Direct sends with as many senders as the group run has.
    pub direct_like_group: Closed,
    pub group: Closed,
    /// Messages sent in all when the final peak RSS was read.
    pub sent: usize,
    pub fill_lost: usize,
    pub rss_start_kib: u64,
    pub hwm_registered_kib: u64,
    pub hwm_end_kib: u64,
    pub rss_end_kib: u64,
}

/// Sequence numbers handed out in order; a phase's messages are a range.
struct Seqs(AtomicUsize);

impl Seqs {
    fn next(&self) -> usize {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
    fn peek(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// How long to wait for stragglers once a phase stopped sending.
const PATIENCE: Duration = Duration::from_secs(15);

pub async fn measure(args: &E2eArgs, client: &Arc<Client>, pid: u32) -> anyhow::Result<Figures> {
    let rss_start_kib = rss_kib(pid)?;
    let n_users = args.users.max(2 * args.pairs).max(args.group_members);
    let t = Instant::now();
    let users: Vec<User> = client
        .register_all(n_users, args.register_concurrency)
        .await?;
    let registration = t.elapsed();
    let hwm_registered_kib = hwm_kib(pid)?;
    eprintln!("{n_users} registrations in {registration:.1?}");

    let pairs: Vec<(Uuid, User, User)> = futures::stream::iter(0..args.pairs)
        .map(|i| {
            let c = client.clone();
            let (a, b) = (users[2 * i].clone(), users[2 * i + 1].clone());
            async move { c.direct(&a, &b).await.map(|chat| (chat, a, b)) }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let pairs = Arc::new(pairs);
    let group_size = args.group_members.clamp(3, n_users);
    let member_ids: Vec<Uuid> = users[1..group_size].iter().map(|u| u.id).collect();
    let group = client.group(&users[0], &member_ids).await?;

    let capacity = args.total_messages
        + args.rates.iter().map(|r| *r as usize).sum::<usize>() * args.seconds as usize
        + 400_000;
    let clock = Arc::new(Clock::new(capacity));
    let opened: Vec<anyhow::Result<()>> = futures::stream::iter(&users)
        .map(|u| client.open_socket(u, clock.clone()))
        .buffer_unordered(64)
        .collect()
        .await;
    opened.into_iter().collect::<anyhow::Result<()>>()?;
    eprintln!("{} sockets open", users.len());
    let seqs = Arc::new(Seqs(AtomicUsize::new(0)));

    // Warm-up: a message per pair and one into the group, all delivered.
    let first = seqs.peek();
    for (i, (chat, a, _)) in pairs.iter().enumerate() {
        let _ = i;
        client.send(*chat, a, seqs.next()).await?;
    }
    clock.settle(first..seqs.peek(), 1, PATIENCE).await;
    let g0 = seqs.next();
    client.send(group, &users[0], g0).await?;
    clock
        .settle(g0..g0 + 1, group_size as u32 - 1, PATIENCE)
        .await;

    // Idle: one send at a time.
    let first = seqs.peek();
    for k in 0..args.idle_sends {
        let (chat, a, b) = &pairs[0];
        let seq = seqs.next();
        clock.mark_sent(seq);
        client
            .send(*chat, if k % 2 == 0 { a } else { b }, seq)
            .await?;
        clock.mark_acked(seq);
        clock.settle(seq..seq + 1, 1, Duration::from_secs(5)).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let idle = first..seqs.peek();
    let idle_ack = clock.acks(idle.clone());
    let (lat, span, _) = clock.latencies(idle, 1);
    let idle_e2e = Summary::from_latencies(lat, span);
    eprintln!("idle: answer p50 {:?}", idle_ack.p50);

    // Open loop at each rate.
    let mut open = Vec::new();
    for rate in &args.rates {
        let count = *rate as usize * args.seconds as usize;
        let first = seqs.peek();
        let range = first..first + count;
        seqs.0.fetch_add(count, Ordering::Relaxed);
        let (c, p) = (client.clone(), pairs.clone());
        paced(*rate, count, 2_048, first, &clock, move |seq| {
            let (c, p) = (c.clone(), p.clone());
            Box::pin(async move {
                let i = seq - first;
                let (chat, a, b) = &p[(i * 7919) % p.len()];
                // A failed send is counted as lost, not fatal.
                let _ = c
                    .send(
                        *chat,
                        if (i / p.len()).is_multiple_of(2) {
                            a
                        } else {
                            b
                        },
                        seq,
                    )
                    .await;
                Ok(())
            })
        })
        .await?;
        clock.settle(range.clone(), 1, PATIENCE).await;
        let ack = clock.acks(range.clone());
        let (lat, span, lost) = clock.latencies(range, 1);
        eprintln!("open loop {rate}/s: lost {lost}");
        open.push(Open {
            e2e: Summary::from_latencies(lat, span),
            ack,
            lost,
        });
    }

    // Closed loop over the pairs: at full concurrency, then with as many
    // senders as the group run (its like-for-like comparison).
    let closed_run = direct_closed(args, client, &clock, &seqs, &pairs, args.closed_clients).await;
    eprintln!("closed loop: {:.0} msgs/s", closed_run.rate);
    let direct_like_group =
        direct_closed(args, client, &clock, &seqs, &pairs, args.group_senders).await;

    // The group, every member connected.
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let senders: Arc<Vec<User>> =
        Arc::new(users[1..=args.group_senders.min(group_size - 1)].to_vec());
    let (range, elapsed) = {
        let c = client.clone();
        let s = senders.clone();
        closed(
            &clock,
            &seqs,
            senders.len(),
            Stop::At(deadline),
            move |w, _, seq| {
                let (c, s) = (c.clone(), s.clone());
                Box::pin(async move { c.send(group, &s[w], seq).await })
            },
        )
        .await
    };
    let group_run = finish(&clock, range, elapsed, group_size as u32 - 1).await;
    eprintln!("group: {:.0} sends/s", group_run.rate);

    // Fill up to the total, then read the peak.
    let total = args.total_messages;
    let (range, elapsed) = closed(
        &clock,
        &seqs,
        args.closed_clients,
        Stop::After(total),
        pair_sends(client, &pairs),
    )
    .await;
    let fill = finish(&clock, range, elapsed, 1).await;
    eprintln!("fill: {} messages sent in all", seqs.peek());
    let hwm_end_kib = hwm_kib(pid)?;
    let rss_end_kib = rss_kib(pid)?;
    Ok(Figures {
        flavor: client.flavor,
        registration,
        idle_ack,
        idle_e2e,
        open,
        closed: closed_run,
        direct_like_group,
        group: group_run,
        sent: seqs.peek(),
        fill_lost: fill.lost,
        rss_start_kib,
        hwm_registered_kib,
        hwm_end_kib,
        rss_end_kib,
    })
}

/// `workers` closed-loop senders over the direct pairs for `args.seconds`.
async fn direct_closed(
    args: &E2eArgs,
    client: &Arc<Client>,
    clock: &Arc<Clock>,
    seqs: &Arc<Seqs>,
    pairs: &Arc<Vec<(Uuid, User, User)>>,
    workers: usize,
) -> Closed {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let (range, elapsed) = closed(
        clock,
        seqs,
        workers,
        Stop::At(deadline),
        pair_sends(client, pairs),
    )
    .await;
    finish(clock, range, elapsed, 1).await
}

/// A closed-loop sender over the direct pairs: worker `w`'s `k`-th message
/// goes to a pair of its own rotation, from either side in turn.
fn pair_sends(client: &Arc<Client>, pairs: &Arc<Vec<(Uuid, User, User)>>) -> impl SendFn {
    let (c, p) = (client.clone(), pairs.clone());
    move |w, k, seq| {
        let (c, p) = (c.clone(), p.clone());
        Box::pin(async move {
            let (chat, a, b) = &p[(w + k * 7) % p.len()];
            c.send(*chat, if k % 2 == 0 { a } else { b }, seq).await
        }) as BoxFuture<'static, anyhow::Result<()>>
    }
}

/// What a closed-loop worker calls: `send(worker, k, seq)`.
trait SendFn:
    Fn(usize, usize, usize) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync + 'static
{
}
impl<F> SendFn for F where
    F: Fn(usize, usize, usize) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync + 'static
{
}

enum Stop {
    At(Instant),
    /// Until this many sequence numbers were handed out in all.
    After(usize),
}

/// `workers` senders, each sending its next message once the previous one
/// was answered (`send(worker, k, seq)` for its k-th message).
async fn closed<F>(
    clock: &Arc<Clock>,
    seqs: &Arc<Seqs>,
    workers: usize,
    stop: Stop,
    send: F,
) -> (Range<usize>, Duration)
where
    F: SendFn,
{
    let send = Arc::new(send);
    let stop = Arc::new(stop);
    let first = seqs.peek();
    let t = Instant::now();
    let tasks: Vec<_> = (0..workers.max(1))
        .map(|w| {
            let (clock, seqs, send, stop) =
                (clock.clone(), seqs.clone(), send.clone(), stop.clone());
            tokio::spawn(async move {
                for k in 0.. {
                    let seq = match *stop {
                        Stop::At(at) if Instant::now() >= at => break,
                        Stop::At(_) => seqs.next(),
                        Stop::After(n) => {
                            let s = seqs.next();
                            if s >= n {
                                break;
                            }
                            s
                        }
                    };
                    clock.mark_sent(seq);
                    if send(w, k, seq).await.is_ok() {
                        clock.mark_acked(seq);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = t.elapsed();
    let last = match *stop {
        Stop::After(n) => seqs.peek().min(n).max(first),
        Stop::At(_) => seqs.peek(),
    };
    // Overshooting `After` handed out numbers nobody sent; skip them later.
    if let Stop::After(n) = *stop {
        seqs.0.store(n.max(first), Ordering::Relaxed);
    }
    (first..last, elapsed)
}

async fn finish(clock: &Clock, range: Range<usize>, elapsed: Duration, expected: u32) -> Closed {
    clock.settle(range.clone(), expected, PATIENCE).await;
    let answered = clock.acks(range.clone()).ops;
    let (lat, span, lost) = clock.latencies(range, expected);
    Closed {
        rate: answered as f64 / elapsed.as_secs_f64().max(1e-9),
        e2e: Summary::from_latencies(lat, span),
        lost,
    }
}
