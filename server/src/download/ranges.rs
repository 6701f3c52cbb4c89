//! The bookkeeping of a ranged transfer, as plain data: which byte ranges of a file are on
//! disk (`Done`), and which connection fetches what next (`Schedule`: pieces in file order,
//! then work stealing by splitting the largest range still being fetched).

use serde::{Deserialize, Serialize};

/// Half-open byte ranges `[start, end)`, sorted, merged, never overlapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done(Vec<(u64, u64)>);

impl Done {
    pub fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (mut start, mut end) = (start, end);
        let mut kept = Vec::with_capacity(self.0.len() + 1);
        for &(s, e) in &self.0 {
            if e < start || s > end {
                kept.push((s, e));
            } else {
                start = start.min(s);
                end = end.max(e);
            }
        }
        kept.push((start, end));
        kept.sort_unstable();
        self.0 = kept;
    }

    /// Bytes covered.
    pub fn bytes(&self) -> u64 {
        self.0.iter().map(|(s, e)| e - s).sum()
    }

    /// The end of the last range (0 when none).
    pub fn end(&self) -> u64 {
        self.0.last().map_or(0, |(_, e)| *e)
    }

    /// The end of the run of done bytes that contains `from` (`from` itself when none does).
    pub fn contiguous_end(&self, from: u64) -> u64 {
        self.0
            .iter()
            .find(|(s, e)| *s <= from && from < *e)
            .map_or(from, |(_, e)| *e)
    }

    /// The ranges of `[0, size)` that are not done, in file order.
    pub fn missing(&self, size: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = 0;
        for &(s, e) in &self.0 {
            if s > at {
                out.push((at, s.min(size)));
            }
            at = at.max(e);
        }
        if at < size {
            out.push((at, size));
        }
        out.retain(|(s, e)| s < e);
        out
    }
}

/// A range a connection is fetching: it has reached `pos` and stops at `end`, which a
/// steal may lower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Active {
    pub pos: u64,
    pub end: u64,
}

/// What each of `workers` connections fetches: the missing bytes cut into pieces of at most
/// `piece` bytes, handed out lowest offset first (so the hashed prefix keeps up); when none is
/// left, an idle connection takes the upper half of the largest range still being fetched.
#[derive(Debug)]
pub struct Schedule {
    queue: std::collections::VecDeque<(u64, u64)>,
    active: Vec<Option<Active>>,
    /// Ranges smaller than twice this are not split.
    min_steal: u64,
}

impl Schedule {
    pub fn new(missing: &[(u64, u64)], piece: u64, workers: usize, min_steal: u64) -> Self {
        let piece = piece.max(1);
        let mut queue = std::collections::VecDeque::new();
        for &(s, e) in missing {
            let mut at = s;
            while at < e {
                let to = (at + piece).min(e);
                queue.push_back((at, to));
                at = to;
            }
        }
        Self {
            queue,
            active: vec![None; workers],
            min_steal,
        }
    }

    /// The next range for `worker` (which finished its last one), or `None` when nothing is
    /// left to fetch or steal.
    pub fn next(&mut self, worker: usize) -> Option<(u64, u64)> {
        self.active[worker] = None;
        let range = self.queue.pop_front().or_else(|| self.steal())?;
        self.active[worker] = Some(Active {
            pos: range.0,
            end: range.1,
        });
        Some(range)
    }

    fn steal(&mut self) -> Option<(u64, u64)> {
        let victim = self
            .active
            .iter_mut()
            .flatten()
            .max_by_key(|a| a.end.saturating_sub(a.pos))?;
        let left = victim.end.saturating_sub(victim.pos);
        if left < 2 * self.min_steal {
            return None;
        }
        let mid = victim.pos + left / 2;
        let end = victim.end;
        victim.end = mid;
        Some((mid, end))
    }

    /// Records that `worker` received up to `pos`; returns where it must stop now.
    pub fn advance(&mut self, worker: usize, pos: u64) -> u64 {
        match &mut self.active[worker] {
            Some(a) => {
                a.pos = pos;
                a.end
            }
            None => pos,
        }
    }

    /// `worker` gives its range back unfinished (its connection failed): the rest goes to
    /// the front of the queue, for whichever connection is free first.
    pub fn give_back(&mut self, worker: usize) {
        if let Some(a) = self.active[worker].take() {
            if a.pos < a.end {
                self.queue.push_front((a.pos, a.end));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_ranges_merge_and_leave_the_gaps_missing() {
        type Ranges = &'static [(u64, u64)];
        // (inserted, missing of 0..100, contiguous prefix)
        let cases: &[(Ranges, Ranges, u64)] = &[
            (&[], &[(0, 100)], 0),
            (&[(0, 10)], &[(10, 100)], 10),
            (&[(10, 20), (30, 40)], &[(0, 10), (20, 30), (40, 100)], 0),
            (&[(10, 20), (20, 30)], &[(0, 10), (30, 100)], 0),
            (&[(10, 30), (15, 25), (0, 5)], &[(5, 10), (30, 100)], 5),
            (&[(0, 50), (40, 100)], &[], 100),
            (&[(5, 5)], &[(0, 100)], 0),
        ];
        for (inserted, missing, prefix) in cases {
            let mut done = Done::default();
            for &(s, e) in *inserted {
                done.insert(s, e);
            }
            assert_eq!(done.missing(100), *missing, "{inserted:?}");
            assert_eq!(done.contiguous_end(0), *prefix, "{inserted:?}");
            assert_eq!(
                done.bytes() + missing.iter().map(|(s, e)| e - s).sum::<u64>(),
                100
            );
        }
    }

    #[test]
    fn pieces_go_out_in_file_order_then_the_largest_range_is_split() {
        let mut s = Schedule::new(&[(0, 25), (40, 50)], 10, 3, 2);
        assert_eq!(s.next(0), Some((0, 10)));
        assert_eq!(s.next(1), Some((10, 20)));
        assert_eq!(s.next(2), Some((20, 25)));
        assert_eq!(s.next(2), Some((40, 50)));
        // Worker 0 is slow: 2 of 10 bytes. Worker 1 finished; it takes half of the biggest rest.
        assert_eq!(s.advance(0, 2), 10);
        assert_eq!(s.advance(2, 43), 50);
        assert_eq!(s.next(1), Some((6, 10)));
        assert_eq!(
            s.advance(0, 3),
            6,
            "worker 0 now stops where the thief starts"
        );
        // Worker 2's rest (43..50) is now the largest.
        assert_eq!(s.next(1), Some((46, 50)));
    }

    #[test]
    fn tiny_ranges_are_not_split_and_failed_ones_come_back_first() {
        let mut s = Schedule::new(&[(0, 13)], 10, 2, 4);
        assert_eq!(s.next(0), Some((0, 10)));
        assert_eq!(s.next(1), Some((10, 13)));
        s.advance(0, 5);
        assert_eq!(
            s.next(1),
            None,
            "5 bytes left: not worth a second connection"
        );
        s.give_back(0);
        assert_eq!(s.next(1), Some((5, 10)));
        assert_eq!(s.next(1), None);
    }
}
