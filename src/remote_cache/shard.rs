//! `--shard K/N`: which assets one job of a CI matrix makes.
//!
//! An asset belongs to shard `1 + (first 8 bytes of its fingerprint) mod N`. The split
//! depends on nothing but the asset's inputs, so every job of a matrix, on any machine,
//! agrees on it without talking to the others, and an asset whose inputs did not change
//! stays in its shard from one run to the next.

use std::fmt;
use std::str::FromStr;

/// One shard of N, counted from 1 as CI matrices write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// More shards than this would leave most of them empty on any blog.
pub const MAX_SHARDS: u32 = 1024;

impl Shard {
    /// Whether the asset with this fingerprint is this shard's to make.
    pub fn owns(&self, fingerprint: &blake3::Hash) -> bool {
        let mut first = [0u8; 8];
        first.copy_from_slice(&fingerprint.as_bytes()[..8]);
        u64::from_le_bytes(first) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a shard; write K/N with 1 ≤ K ≤ N, such as 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        if count > MAX_SHARDS {
            return Err(format!("`{s}`: {MAX_SHARDS} shards at most"));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!("1/1".parse::<Shard>().unwrap().to_string(), "1/1");
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", "-1/2", "1/2000"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    /// Every asset falls in exactly one shard, and the shards are about even.
    #[test]
    fn every_asset_has_exactly_one_shard() {
        let count = 3;
        let shards: Vec<Shard> = (1..=count).map(|index| Shard { index, count }).collect();
        let mut sizes = vec![0; count as usize];
        for i in 0..3000u32 {
            let fp = blake3::hash(&i.to_le_bytes());
            let owners: Vec<usize> = (0..shards.len()).filter(|&s| shards[s].owns(&fp)).collect();
            assert_eq!(owners.len(), 1, "asset {i}");
            sizes[owners[0]] += 1;
        }
        assert!(
            sizes.iter().all(|&n| (900..=1100).contains(&n)),
            "{sizes:?}"
        );
    }
}
