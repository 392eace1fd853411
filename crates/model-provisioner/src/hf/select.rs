//! Choosing files in a repo: by quantization (`hf:org/repo:Q4_K_M`), the
//! lone GGUF of a repo, and the shards of a split GGUF
//! (`…-00001-of-00003.gguf`), which always come together.

use crate::hf_error::HfError;

/// A model in a repo: one file, or every shard of a split GGUF in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unit {
    pub files: Vec<String>,
}

/// `(stem, index, count)` of `stem-0000i-of-0000n.gguf`.
fn shard_parts(path: &str) -> Option<(&str, u32, u32)> {
    let base = path.strip_suffix(".gguf")?;
    let (head, count) = base.rsplit_once("-of-")?;
    let (stem, index) = head.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(index) || !digits(count) {
        return None;
    }
    let (i, n) = (index.parse().ok()?, count.parse().ok()?);
    (i >= 1 && i <= n).then_some((stem, i, n))
}

/// Every shard of the split set `path` belongs to (just `path` otherwise),
/// first shard first.
pub(crate) fn shards_of(path: &str) -> Vec<String> {
    match shard_parts(path) {
        Some((stem, _, n)) => (1..=n)
            .map(|i| format!("{stem}-{i:05}-of-{n:05}.gguf"))
            .collect(),
        None => vec![path.to_string()],
    }
}

/// Groups a repo's `.gguf` files into units; a split set missing a shard
/// is an error naming it.
pub(crate) fn units(files: &[String]) -> Result<Vec<Unit>, HfError> {
    let mut out: Vec<Unit> = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.to_ascii_lowercase().ends_with(".gguf"))
    {
        match shard_parts(f) {
            Some((_, 1, _)) => {
                let shards = shards_of(f);
                if let Some(missing) = shards.iter().find(|s| !files.contains(s)) {
                    return Err(HfError::MissingShard {
                        file: f.clone(),
                        missing: missing.clone(),
                    });
                }
                out.push(Unit { files: shards });
            }
            Some(_) => {}
            None => out.push(Unit {
                files: vec![f.clone()],
            }),
        }
    }
    Ok(out)
}

/// True when `quant` appears in `path` as a whole token: bounded by the
/// start, the end, or a character other than a letter, digit or `_`
/// (so `Q4_K` does not match `Q4_K_M`), compared case-insensitively.
fn carries_quant(path: &str, quant: &str) -> bool {
    let hay = path.to_ascii_lowercase();
    let needle = quant.to_ascii_lowercase();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    hay.match_indices(&needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        !word(before) && !word(after)
    })
}

/// The files to fetch: the unit carrying `quant`, or the repo's only unit
/// when no quantization is given.
pub(crate) fn select(
    repo: &str,
    files: &[String],
    quant: Option<&str>,
) -> Result<Vec<String>, HfError> {
    let all = units(files)?;
    let names = |us: &[&Unit]| us.iter().map(|u| u.files[0].clone()).collect::<Vec<_>>();
    let Some(quant) = quant else {
        return match all.as_slice() {
            [one] => Ok(one.files.clone()),
            _ => Err(HfError::NoFileChosen {
                repo: repo.to_string(),
                files: names(&all.iter().collect::<Vec<_>>()),
            }),
        };
    };
    let matching: Vec<&Unit> = all
        .iter()
        .filter(|u| carries_quant(&u.files[0], quant))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one.files.clone()),
        [] => Err(HfError::QuantNotFound {
            repo: repo.to_string(),
            quant: quant.to_string(),
            available: names(&all.iter().collect::<Vec<_>>()),
        }),
        several => Err(HfError::QuantAmbiguous {
            repo: repo.to_string(),
            quant: quant.to_string(),
            candidates: names(several),
        }),
    }
}

/// A path from a listing that is safe to join under a snapshot directory.
pub(crate) fn is_safe_repo_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.contains('\\')
        && !p.chars().any(char::is_control)
        && p.split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn quant_matches_whole_tokens_case_insensitively() {
        let files = v(&["README.md", "m-Q4_K_M.gguf", "m-Q4_K_S.gguf", "m.Q8_0.gguf"]);
        assert_eq!(
            select("o/r", &files, Some("q4_k_m")).unwrap(),
            v(&["m-Q4_K_M.gguf"])
        );
        assert_eq!(
            select("o/r", &files, Some("Q8_0")).unwrap(),
            v(&["m.Q8_0.gguf"])
        );
        let err = select("o/r", &files, Some("Q4_K")).unwrap_err().to_string();
        assert!(
            err.contains("m-Q4_K_M.gguf") && err.contains("m.Q8_0.gguf"),
            "{err}"
        );
    }

    #[test]
    fn several_matches_are_ambiguous_and_named() {
        let files = v(&["a/m-Q4_0.gguf", "b/m-Q4_0.gguf"]);
        let err = select("o/r", &files, Some("Q4_0")).unwrap_err();
        assert_eq!(err.kind(), "quant-ambiguous");
        assert!(err.to_string().contains("a/m-Q4_0.gguf, b/m-Q4_0.gguf"));
    }

    #[test]
    fn split_sets_come_together_first_shard_first() {
        let files = v(&[
            "m-Q8_0-00002-of-00002.gguf",
            "m-Q8_0-00001-of-00002.gguf",
            "m-F16.gguf",
        ]);
        assert_eq!(
            select("o/r", &files, Some("Q8_0")).unwrap(),
            v(&["m-Q8_0-00001-of-00002.gguf", "m-Q8_0-00002-of-00002.gguf"])
        );
        assert_eq!(
            shards_of("d/x-00003-of-00003.gguf")[0],
            "d/x-00001-of-00003.gguf"
        );
        let broken = v(&["m-00001-of-00003.gguf", "m-00002-of-00003.gguf"]);
        assert_eq!(units(&broken).unwrap_err().kind(), "missing-shard");
    }

    #[test]
    fn no_quant_takes_the_only_gguf() {
        assert_eq!(
            select("o/r", &v(&["x.gguf", "c.json"]), None).unwrap(),
            v(&["x.gguf"])
        );
        assert_eq!(
            select("o/r", &v(&["x.gguf", "y.gguf"]), None)
                .unwrap_err()
                .kind(),
            "no-file-chosen"
        );
    }

    #[test]
    fn unsafe_listing_paths_are_refused() {
        assert!(is_safe_repo_path("a/b.gguf"));
        for p in ["", "/a", "a/../b", "a//b", "a\\b", "./a"] {
            assert!(!is_safe_repo_path(p), "{p}");
        }
    }
}
