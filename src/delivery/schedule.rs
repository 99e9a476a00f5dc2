//! The delivery stage's scheduler: which pending delivery is attempted next, and how far the
//! consumed input may be committed. Pure (the stage does the I/O): it holds every delivery not
//! yet finished, with the input record it came from.
//!
//! - **Isolation.** Each subscriber has its own queue and at most `max_in_flight` attempts at
//!   once, and subscribers take turns, so a slow or dead receiver occupies only its own slots:
//!   another subscriber's deliveries never wait behind it.
//! - **Bounded memory.** A subscriber's queue holds at most `max_queued` deliveries; beyond that
//!   [`Schedule::offer`] gives the delivery back (the stage moves it to the retry topic, which
//!   is durable, and finishes it here).
//! - **At least once.** An input offset is committable only when every delivery of every record
//!   before it is finished: delivered, refused, or written to the retry topic or the delivery
//!   DLQ in the transaction that commits the offsets. A crash at any moment re-reads what was not
//!   finished: a delivery may be repeated, with the same `Vigil-Delivery-Id`, but never lost.

use std::collections::{BTreeMap, VecDeque};

/// Limits of the scheduler (`[delivery]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attempts in flight per subscriber.
    pub max_in_flight: usize,
    /// Deliveries waiting per subscriber.
    pub max_queued: usize,
}

/// Where a delivery's input record was read: (partition, offset) of the topic the stage reads.
pub type Source = (i32, i64);

/// A delivery handed out by [`Schedule::next_ready`], to give back to [`Schedule::finish`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket {
    subscriber: usize,
    sources: Vec<Source>,
}

/// A waiting delivery, with the input records it carries (several for a group's notification,
/// none for a repeat).
#[derive(Debug)]
struct Waiting<T> {
    sources: Vec<Source>,
    /// Not attempted before this time (milliseconds of the stage's clock).
    not_before: u64,
    item: T,
}

#[derive(Debug)]
struct Queue<T> {
    waiting: VecDeque<Waiting<T>>,
    in_flight: usize,
}

/// The pending deliveries of every subscriber (by index in the configuration), and the input
/// records they came from. `T` is what an attempt needs (the record, the attempt number, …).
#[derive(Debug)]
pub struct Schedule<T> {
    limits: Limits,
    queues: Vec<Queue<T>>,
    /// Unfinished deliveries per input record, by partition and offset.
    unfinished: BTreeMap<i32, BTreeMap<i64, usize>>,
    /// The next offset to read of each partition seen (what to commit when nothing is pending).
    next_offset: BTreeMap<i32, i64>,
    /// The subscriber whose turn comes first in the next search (round robin).
    turn: usize,
}

impl<T> Schedule<T> {
    pub fn new(subscribers: usize, limits: Limits) -> Schedule<T> {
        Schedule {
            limits,
            queues: (0..subscribers)
                .map(|_| Queue {
                    waiting: VecDeque::new(),
                    in_flight: 0,
                })
                .collect(),
            unfinished: BTreeMap::new(),
            next_offset: BTreeMap::new(),
            turn: 0,
        }
    }

    /// An input record was consumed; its deliveries follow with [`Schedule::offer`]. A record no
    /// subscriber receives is finished at once.
    pub fn consumed(&mut self, source: Source) {
        let (partition, offset) = source;
        let next = self.next_offset.entry(partition).or_insert(offset + 1);
        *next = (*next).max(offset + 1);
    }

    /// Queues a delivery to `subscriber` of what the records at `sources` carry, not to be
    /// attempted before `not_before`. Returns it back when the subscriber's queue is full: the
    /// caller writes it to the retry topic before the next offsets it commits, so that a record
    /// is never committed without its delivery being kept somewhere.
    pub fn offer(
        &mut self,
        subscriber: usize,
        sources: Vec<Source>,
        not_before: u64,
        item: T,
    ) -> Option<T> {
        let queue = &mut self.queues[subscriber];
        if queue.waiting.len() >= self.limits.max_queued {
            return Some(item);
        }
        for &source in &sources {
            self.hold(source);
        }
        self.queues[subscriber].waiting.push_back(Waiting {
            sources,
            not_before,
            item,
        });
        None
    }

    /// Keeps the record at `source` from being committed until [`Schedule::release`]d: for a
    /// record waiting in a group (`group.rs`) before any delivery carries it.
    pub fn hold(&mut self, (partition, offset): Source) {
        *self
            .unfinished
            .entry(partition)
            .or_default()
            .entry(offset)
            .or_default() += 1;
    }

    /// The next delivery to attempt at `now`: the first due one of the next subscriber, in turn,
    /// that has a free slot. Due deliveries of one subscriber go in queue order.
    pub fn next_ready(&mut self, now: u64) -> Option<(Ticket, T)> {
        let n = self.queues.len();
        for k in 0..n {
            let subscriber = (self.turn + k) % n;
            let queue = &mut self.queues[subscriber];
            if queue.in_flight >= self.limits.max_in_flight {
                continue;
            }
            let Some(at) = queue.waiting.iter().position(|w| w.not_before <= now) else {
                continue;
            };
            let Some(w) = queue.waiting.remove(at) else {
                continue;
            };
            queue.in_flight += 1;
            self.turn = (subscriber + 1) % n;
            let ticket = Ticket {
                subscriber,
                sources: w.sources,
            };
            return Some((ticket, w.item));
        }
        None
    }

    /// An attempt handed out by [`Schedule::next_ready`] ended: delivered, refused, or with a
    /// retry or dead letter that the caller sends in the transaction of its next commit.
    pub fn finish(&mut self, ticket: Ticket) {
        let queue = &mut self.queues[ticket.subscriber];
        queue.in_flight = queue.in_flight.saturating_sub(1);
        for source in ticket.sources {
            self.release(source);
        }
    }

    /// Undoes one [`Schedule::hold`].
    pub fn release(&mut self, (partition, offset): Source) {
        if let Some(offsets) = self.unfinished.get_mut(&partition)
            && let Some(count) = offsets.get_mut(&offset)
        {
            *count -= 1;
            if *count == 0 {
                offsets.remove(&offset);
            }
        }
    }

    /// The offset to commit for each partition seen: the first record with an unfinished
    /// delivery, or past the last record consumed when none is.
    pub fn committable(&self) -> BTreeMap<i32, i64> {
        self.next_offset
            .iter()
            .map(|(&partition, &next)| {
                let first_unfinished = self
                    .unfinished
                    .get(&partition)
                    .and_then(|offsets| offsets.keys().next().copied());
                (partition, first_unfinished.unwrap_or(next))
            })
            .collect()
    }

    /// When the earliest waiting delivery of a subscriber with a free slot comes due (to sleep
    /// until then), if any waits.
    pub fn next_due(&self) -> Option<u64> {
        self.queues
            .iter()
            .filter(|q| q.in_flight < self.limits.max_in_flight)
            .flat_map(|q| q.waiting.iter().map(|w| w.not_before))
            .min()
    }

    /// Deliveries waiting, over all subscribers (a gauge).
    pub fn waiting(&self) -> usize {
        self.queues.iter().map(|q| q.waiting.len()).sum()
    }

    /// Whether some subscriber's queue is full: the stage then stops reading the retry topic
    /// (whose records would only overflow back into it) until [`Schedule::all_half_empty`].
    pub fn any_full(&self) -> bool {
        self.queues
            .iter()
            .any(|q| q.waiting.len() >= self.limits.max_queued)
    }

    /// Whether every queue is at most half full (when the stage reads the retry topic again:
    /// the gap keeps it from pausing and resuming at every delivery).
    pub fn all_half_empty(&self) -> bool {
        self.queues
            .iter()
            .all(|q| q.waiting.len() <= self.limits.max_queued / 2)
    }

    /// Deliveries waiting for one subscriber (a gauge).
    pub fn waiting_for(&self, subscriber: usize) -> usize {
        self.queues[subscriber].waiting.len()
    }

    /// Partitions this member no longer owns (a rebalance took them): their offsets are no
    /// longer committed from here, and deliveries waiting only on their records are dropped, as
    /// the partitions' new owner reads those records again from the last commit.
    pub fn forget(&mut self, partitions: &[i32]) {
        for p in partitions {
            self.unfinished.remove(p);
            self.next_offset.remove(p);
        }
        for q in &mut self.queues {
            q.waiting.retain(|w| {
                w.sources.is_empty() || !w.sources.iter().all(|(p, _)| partitions.contains(p))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_in_flight: 2,
        max_queued: 3,
    };

    #[test]
    fn a_stuck_subscriber_occupies_only_its_own_slots() {
        let mut s: Schedule<&str> = Schedule::new(2, LIMITS);
        for offset in 0..3 {
            s.consumed((0, offset));
            assert_eq!(s.offer(0, vec![(0, offset)], 0, "slow"), None);
            assert_eq!(s.offer(1, vec![(0, offset)], 0, "fast"), None);
        }
        // Subscriber 0's two attempts hang (never finished); subscriber 1 keeps going.
        let mut fast = 0;
        let mut slow = 0;
        while let Some((ticket, item)) = s.next_ready(0) {
            if item == "fast" {
                fast += 1;
                s.finish(ticket);
            } else {
                slow += 1;
            }
        }
        assert_eq!((fast, slow), (3, 2));
        // Nothing committable past the first record: subscriber 0 has not finished it.
        assert_eq!(s.committable(), BTreeMap::from([(0, 0)]));
    }

    #[test]
    fn subscribers_take_turns() {
        let mut s: Schedule<usize> = Schedule::new(
            3,
            Limits {
                max_in_flight: 10,
                max_queued: 10,
            },
        );
        for sub in 0..3 {
            for k in 0..2 {
                s.offer(sub, vec![(0, k)], 0, sub);
            }
        }
        let order: Vec<usize> = std::iter::from_fn(|| s.next_ready(0).map(|(_, i)| i)).collect();
        assert_eq!(order, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn commits_never_pass_an_unfinished_delivery() {
        let mut s: Schedule<i64> = Schedule::new(
            1,
            Limits {
                max_in_flight: 10,
                max_queued: 10,
            },
        );
        for offset in 10..15 {
            s.consumed((3, offset));
            s.offer(0, vec![(3, offset)], 0, offset);
        }
        s.consumed((3, 15)); // a record nobody receives
        let mut tickets: BTreeMap<i64, Ticket> = BTreeMap::new();
        while let Some((t, offset)) = s.next_ready(0) {
            tickets.insert(offset, t);
        }
        assert_eq!(s.committable()[&3], 10);
        // Finishing out of order: the commit moves only past a finished prefix.
        s.finish(tickets[&12].clone());
        s.finish(tickets[&11].clone());
        assert_eq!(s.committable()[&3], 10);
        s.finish(tickets[&10].clone());
        assert_eq!(s.committable()[&3], 13);
        s.finish(tickets[&13].clone());
        s.finish(tickets[&14].clone());
        assert_eq!(s.committable()[&3], 16);
    }

    #[test]
    fn a_delivery_waits_until_due_and_a_full_queue_gives_it_back() {
        let mut s: Schedule<u32> = Schedule::new(1, LIMITS);
        assert_eq!(s.offer(0, vec![(0, 0)], 5_000, 1), None);
        assert!(s.next_ready(4_999).is_none());
        assert_eq!(s.next_due(), Some(5_000));
        assert!(s.next_ready(5_000).is_some());
        assert_eq!(s.offer(0, vec![(0, 1)], 0, 2), None);
        assert_eq!(s.offer(0, vec![(0, 2)], 0, 3), None);
        assert_eq!(s.offer(0, vec![(0, 3)], 0, 4), None);
        assert_eq!(
            s.offer(0, vec![(0, 4)], 0, 5),
            Some(5),
            "the queue holds three"
        );
        assert_eq!(s.waiting(), 3);
    }

    #[test]
    fn a_notification_holds_every_record_it_carries_and_revoked_partitions_are_forgotten() {
        let mut s: Schedule<&str> = Schedule::new(1, LIMITS);
        for offset in 0..3 {
            s.consumed((0, offset));
        }
        s.consumed((1, 7));
        // Record 0 waits in a group; then one notification carries records 0 and 2.
        s.hold((0, 0));
        assert_eq!(s.committable()[&0], 0);
        assert_eq!(s.offer(0, vec![(0, 0), (0, 2)], 0, "group"), None);
        s.release((0, 0));
        s.offer(0, vec![(1, 7)], 0, "other partition");
        let (ticket, _) = s.next_ready(0).unwrap();
        assert_eq!(s.committable()[&0], 0);
        s.finish(ticket);
        assert_eq!(s.committable()[&0], 3);
        // Partition 1 is revoked: nothing of it is committed or attempted from here.
        s.forget(&[1]);
        assert_eq!(s.committable(), BTreeMap::from([(0, 3)]));
        assert!(s.next_ready(0).is_none());
    }
}
