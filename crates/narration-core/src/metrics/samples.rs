//! The metric samples of the Prometheus textfile, as one map from sample
//! (family, labels, part) to value. Every sample of our families is
//! additive (counters, and a histogram's buckets, sum and count), so two
//! runs merge by adding values key by key.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One metric family of the textfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Family {
    StepDuration,
    TransferBytes,
    CacheHits,
    CacheMisses,
    Failures,
}

impl Family {
    const ALL: [Family; 5] = [
        Self::StepDuration,
        Self::TransferBytes,
        Self::CacheHits,
        Self::CacheMisses,
        Self::Failures,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::StepDuration => "provision_step_duration_seconds",
            Self::TransferBytes => "provision_transfer_bytes_total",
            Self::CacheHits => "provision_cache_hits_total",
            Self::CacheMisses => "provision_cache_misses_total",
            Self::Failures => "provision_failures_total",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Self::StepDuration => {
                "Duration of one provisioning step (a step span), by actor, step and outcome."
            }
            Self::TransferBytes => "Bytes downloaded, by actor and source kind (hf, https, file).",
            Self::CacheHits => "Work skipped because a verified result was cached.",
            Self::CacheMisses => "Work done because nothing verified was cached.",
            Self::Failures => "Failure narrations, by actor and error kind.",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Self::StepDuration => "histogram",
            _ => "counter",
        }
    }
}

/// Which sample of a family: a counter's value, or a histogram's bucket
/// (by upper bound), sum or count. Ordered as the text format lists them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Part {
    Value,
    Bucket(f64),
    Sum,
    Count,
}

impl Part {
    fn rank(self) -> (u8, f64) {
        match self {
            Self::Value => (0, 0.0),
            Self::Bucket(le) => (1, le),
            Self::Sum => (2, 0.0),
            Self::Count => (3, 0.0),
        }
    }
}

impl PartialEq for Part {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Part {}
impl PartialOrd for Part {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Part {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.rank(), other.rank());
        a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))
    }
}

/// Label pairs in a fixed order (the order the family declares them).
pub(crate) type Labels = Vec<(&'static str, String)>;

/// One sample's identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub family: Family,
    pub labels: Labels,
    pub part: Part,
}

/// The upper bounds (seconds) of the step duration histogram: from a
/// cached step (milliseconds) to a cold CUDA build (an hour).
pub(crate) const STEP_BUCKETS: [f64; 17] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0,
    3600.0,
];

/// Samples by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Samples(BTreeMap<Key, f64>);

impl Samples {
    pub(crate) fn add(&mut self, family: Family, labels: Labels, part: Part, value: f64) {
        *self
            .0
            .entry(Key {
                family,
                labels,
                part,
            })
            .or_default() += value;
    }

    /// One observation of the step histogram.
    pub(crate) fn observe(&mut self, labels: Labels, seconds: f64) {
        let family = Family::StepDuration;
        for le in STEP_BUCKETS.iter().copied().chain([f64::INFINITY]) {
            let hit = if seconds <= le { 1.0 } else { 0.0 };
            self.add(family, labels.clone(), Part::Bucket(le), hit);
        }
        self.add(family, labels.clone(), Part::Sum, seconds);
        self.add(family, labels, Part::Count, 1.0);
    }

    /// Add every sample of `other` to this one.
    pub(crate) fn merge(&mut self, other: &Samples) {
        for (key, value) in &other.0 {
            *self.0.entry(key.clone()).or_default() += value;
        }
    }

    /// The Prometheus text exposition format (0.0.4): each family with
    /// its HELP and TYPE lines, then its samples; families without
    /// samples are left out.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for family in Family::ALL {
            let mut samples = self.0.iter().filter(|(k, _)| k.family == family).peekable();
            if samples.peek().is_none() {
                continue;
            }
            let name = family.name();
            let _ = writeln!(out, "# HELP {name} {}", family.help());
            let _ = writeln!(out, "# TYPE {name} {}", family.kind());
            for (key, value) in samples {
                render_sample(&mut out, key, *value);
            }
        }
        out
    }

    /// Read back what [`Samples::render`] wrote. Lines of other families,
    /// comments and lines that do not parse are skipped: the file is ours,
    /// and a damaged line costs its counts, not the whole file.
    pub(crate) fn parse(text: &str) -> Samples {
        let mut samples = Samples::default();
        for line in text.lines() {
            if let Some((key, value)) = parse_sample(line) {
                samples.0.insert(key, value);
            }
        }
        samples
    }
}

fn render_sample(out: &mut String, key: &Key, value: f64) {
    let name = key.family.name();
    let suffix = match key.part {
        Part::Value => "",
        Part::Bucket(_) => "_bucket",
        Part::Sum => "_sum",
        Part::Count => "_count",
    };
    out.push_str(name);
    out.push_str(suffix);
    let mut labels: Vec<(&str, String)> = key.labels.iter().map(|(k, v)| (*k, v.clone())).collect();
    if let Part::Bucket(le) = key.part {
        labels.push(("le", format_number(le)));
    }
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", format_number(value));
}

fn format_number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        // Rust prints whole floats without a fraction and others in the
        // shortest form that reads back exactly: both valid Go floats.
        format!("{v}")
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `name{k="v",…} value` → key and value, for our families only.
fn parse_sample(line: &str) -> Option<(Key, f64)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (head, value) = line.rsplit_once(' ')?;
    let value = parse_number(value.trim())?;
    let (name, labels) = match head.split_once('{') {
        Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
        None => (head, Vec::new()),
    };
    let (family, suffix) = Family::ALL
        .iter()
        .find_map(|f| name.strip_prefix(f.name()).map(|suffix| (*f, suffix)))?;
    let mut le = None;
    let mut kept: Labels = Vec::new();
    for (k, v) in labels {
        if k == "le" {
            le = Some(parse_number(&v)?);
        } else {
            kept.push((label_name(family, &k)?, v));
        }
    }
    let part = match (family, suffix, le) {
        (Family::StepDuration, "_bucket", Some(le)) => Part::Bucket(le),
        (Family::StepDuration, "_sum", None) => Part::Sum,
        (Family::StepDuration, "_count", None) => Part::Count,
        (Family::StepDuration, _, _) => return None,
        (_, "", None) => Part::Value,
        _ => return None,
    };
    Some((
        Key {
            family,
            labels: kept,
            part,
        },
        value,
    ))
}

/// The label names each family declares, in their order.
pub(crate) fn label_names(family: Family) -> &'static [&'static str] {
    match family {
        Family::StepDuration => &["actor", "step", "outcome"],
        Family::TransferBytes => &["actor", "source"],
        Family::CacheHits | Family::CacheMisses => &["actor"],
        Family::Failures => &["actor", "error_kind"],
    }
}

fn label_name(family: Family, name: &str) -> Option<&'static str> {
    label_names(family).iter().copied().find(|n| *n == name)
}

fn parse_number(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// `k="v",k2="v2"` with `\\`, `\"` and `\n` escapes.
fn parse_labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut labels = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        labels.push((name.trim().to_string(), value));
        rest = after[end + 1..].trim_start_matches(',').trim();
    }
    Some(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Samples {
        let mut s = Samples::default();
        s.observe(
            vec![
                ("actor", "model-provisioner".into()),
                ("step", "fetch".into()),
                ("outcome", "ok".into()),
            ],
            0.3,
        );
        s.add(
            Family::Failures,
            vec![
                ("actor", "a".into()),
                ("error_kind", "odd \"kind\"\\\n".into()),
            ],
            Part::Value,
            2.0,
        );
        s
    }

    #[test]
    fn rendered_samples_read_back_equal() {
        let s = sample();
        assert_eq!(Samples::parse(&s.render()), s);
    }

    #[test]
    fn merging_adds_counts_and_buckets() {
        let mut twice = sample();
        twice.merge(&sample());
        let text = twice.render();
        assert!(
            text.contains(
                "provision_failures_total{actor=\"a\",error_kind=\"odd \\\"kind\\\"\\\\\\n\"} 4"
            ),
            "{text}"
        );
        assert!(text.contains("le=\"0.25\"} 0\n"), "{text}");
        assert!(text.contains("le=\"0.5\"} 2\n"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2\n"), "{text}");
        assert!(
            text.contains("_count{actor=\"model-provisioner\",step=\"fetch\",outcome=\"ok\"} 2\n"),
            "{text}"
        );
    }
}
