//! Which byte ranges of a file are finished: merged, sorted intervals,
//! and the pieces still to fetch.

use serde::{Deserialize, Serialize};

/// Finished byte ranges, `[start, end)`, sorted and merged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(super) struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    /// `[0, end)`, or nothing when `end` is 0.
    pub fn prefix(end: u64) -> Self {
        let mut set = Self::default();
        set.add(0, end);
        set
    }

    /// Marks `[start, end)` finished.
    pub fn add(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        self.0.push((start, end));
        self.0.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.0.len());
        for &(s, e) in &self.0 {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.0 = merged;
    }

    /// Where the finished run from byte 0 ends (0 when byte 0 is missing).
    pub fn prefix_end(&self) -> u64 {
        match self.0.first() {
            Some(&(0, end)) => end,
            _ => 0,
        }
    }

    /// Bytes finished.
    pub fn covered(&self) -> u64 {
        self.0.iter().map(|(s, e)| e - s).sum()
    }

    /// How many disjoint ranges.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the ranges are as [`add`](Self::add) leaves them (each
    /// non-empty, sorted, apart from the next) and inside a file of
    /// `total` bytes: what a state file read from disk must be.
    pub fn is_canonical(&self, total: u64) -> bool {
        let mut at = None;
        for &(s, e) in &self.0 {
            if s >= e || at.is_some_and(|prev| s <= prev) {
                return false;
            }
            at = Some(e);
        }
        at.is_none_or(|end| end <= total)
    }

    /// True when every range lies inside a file of `total` bytes.
    pub fn fits(&self, total: u64) -> bool {
        self.0.last().is_none_or(|&(_, end)| end <= total)
    }

    /// The missing bytes of a `total`-byte file, cut into pieces of at
    /// most `chunk` bytes, in file order.
    pub fn missing(&self, total: u64, chunk: u64) -> Vec<(u64, u64)> {
        let mut gaps = Vec::new();
        let mut at = 0;
        for &(s, e) in self.0.iter().chain(std::iter::once(&(total, total))) {
            let mut start = at;
            while start < s.min(total) {
                let end = (start + chunk).min(s.min(total));
                gaps.push((start, end));
                start = end;
            }
            at = at.max(e);
        }
        gaps
    }
}

#[cfg(test)]
mod tests {
    use super::RangeSet;

    #[test]
    fn ranges_merge_and_leave_the_gaps_in_chunks() {
        let mut set = RangeSet::default();
        set.add(10, 20);
        set.add(0, 5);
        set.add(5, 10);
        set.add(30, 40);
        assert_eq!(set.prefix_end(), 20);
        assert_eq!(set.covered(), 30);
        assert_eq!(
            set.missing(50, 4),
            vec![(20, 24), (24, 28), (28, 30), (40, 44), (44, 48), (48, 50)]
        );
        assert!(set.fits(40) && !set.fits(39));
    }

    #[test]
    fn an_empty_set_is_all_missing_and_has_no_prefix() {
        let set = RangeSet::default();
        assert_eq!(set.prefix_end(), 0);
        assert_eq!(set.missing(10, 4), vec![(0, 4), (4, 8), (8, 10)]);
        assert_eq!(RangeSet::prefix(10).missing(10, 4), vec![]);
        assert_eq!(RangeSet::prefix(0), RangeSet::default());
    }
}
