//! OCI layouts in `cache scan`, `remove --delete-files` and `cache prune`,
//! against a real registry, judged by the real skopeo reading the layout:
//! each model listed once with its tags, each blob counted once, and a
//! removal that leaves `index.json` and the other models whole.

use crate::oci_support::{Registry, components_available, provisioner, tiny_gguf};
use model_provisioner::cache_scan::CacheScan;
use model_provisioner::oci::RegistryAuth;
use model_provisioner::{PrunePolicy, ResolvedModel, sha256_bytes};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `skopeo inspect --raw oci:DIR:TAG`: the manifest bytes, or why not.
fn skopeo(dir: &Path, tag: &str) -> Result<Vec<u8>, String> {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!("oci:{}:{tag}", dir.display()))
        .output()
        .expect("skopeo runs");
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn blobs(layout: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The problems found under `oci_dir` (the test's catalog file sits in
/// the cache folder too, and is reported on its own).
fn oci_problems(scan: &CacheScan, oci_dir: &Path) -> Vec<String> {
    scan.problems
        .iter()
        .filter(|p| p.path.starts_with(oci_dir))
        .map(|p| format!("{}: {}", p.path.display(), p.detail))
        .collect()
}

fn manifest_hex(resolved: &ResolvedModel) -> String {
    let digest = resolved.source.rsplit_once("@sha256:").unwrap().1;
    digest.to_string()
}

/// Two tags of one repository (Docker and ModelPack manifests sharing the
/// GGUF layer) and a second repository, pulled into one cache.
struct Pulled {
    _reg: Registry,
    cache: tempfile::TempDir,
    layout: PathBuf,
    gguf: Vec<u8>,
    v1: ResolvedModel,
    v2: ResolvedModel,
    other: ResolvedModel,
}

fn pulled() -> Option<Pulled> {
    if !components_available() {
        return None;
    }
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let (path, gguf) = tiny_gguf(work.path(), "m.gguf", 41);
    let (other_path, _) = tiny_gguf(work.path(), "o.gguf", 42);
    reg.push("fleet/m:v1", "docker", &[&path]);
    reg.push("fleet/m:v2", "modelpack", &[&path]);
    reg.push("fleet/other:v1", "docker", &[&other_path]);
    let cache = tempfile::tempdir().unwrap();
    let models = provisioner(cache.path(), RegistryAuth::anonymous());
    let pull = |t: &str| models.ensure_present_str(&reg.model_ref(t), None).unwrap();
    let (v1, v2, other) = (
        pull("fleet/m:v1"),
        pull("fleet/m:v2"),
        pull("fleet/other:v1"),
    );
    let layout = cache
        .path()
        .join("oci")
        .join(reg.host.replace(':', "_"))
        .join("fleet/m");
    Some(Pulled {
        _reg: reg,
        cache,
        layout,
        gguf,
        v1,
        v2,
        other,
    })
}

#[test]
fn cache_scan_lists_each_layout_model_with_its_tags_and_counts_a_shared_layer_once() {
    let Some(p) = pulled() else { return };
    let models = provisioner(p.cache.path(), RegistryAuth::anonymous());
    let scan: CacheScan = models.scan_cache().unwrap();
    let oci_dir = p.cache.path().join("oci");
    assert!(
        !scan.repos.iter().any(|r| r.path.starts_with(&oci_dir)),
        "the oci folder is no Hub repo: {:?}",
        scan.repos
    );
    assert_eq!(oci_problems(&scan, &oci_dir), Vec::<String>::new());
    assert_eq!(scan.oci.len(), 2);
    let layout = &scan.oci[0];
    assert_eq!(
        (layout.repository.as_str(), layout.path.as_path()),
        ("fleet/m", p.layout.as_path())
    );
    let on_disk: u64 = blobs(&p.layout)
        .iter()
        .map(|b| {
            std::fs::metadata(p.layout.join("blobs/sha256").join(b))
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(layout.size_on_disk, on_disk);
    assert!(
        layout.size_on_disk < 2 * p.gguf.len() as u64,
        "the shared GGUF layer counted once"
    );
    let mut listed: Vec<(Vec<String>, String, Vec<String>)> = layout
        .models
        .iter()
        .map(|m| {
            (
                m.tags.clone(),
                m.manifest_digest.clone(),
                m.catalog_ids.clone(),
            )
        })
        .collect();
    listed.sort();
    let row = |r: &ResolvedModel, tag: &str| {
        (
            vec![tag.to_string()],
            format!("sha256:{}", manifest_hex(r)),
            vec![r.id.clone()],
        )
    };
    assert_eq!(listed, vec![row(&p.v1, "v1"), row(&p.v2, "v2")]);
    for m in &layout.models {
        assert!(m.size_bytes > p.gguf.len() as u64 && m.own_bytes < m.size_bytes);
    }
    assert_eq!(
        scan.oci_size_on_disk,
        layout.size_on_disk + scan.oci[1].size_on_disk
    );
}

#[test]
fn removing_one_tag_keeps_the_shared_layer_and_the_other_tag_readable_by_skopeo() {
    let Some(p) = pulled() else { return };
    let models = provisioner(p.cache.path(), RegistryAuth::anonymous());
    let layer = sha256_bytes(&p.gguf).hex();
    let (m1, m2) = (manifest_hex(&p.v1), manifest_hex(&p.v2));

    let removal = models.remove(&p.v1.id, true).unwrap();
    assert!(removal.removed);
    assert!(
        removal
            .deleted_files
            .contains(&p.layout.join("blobs/sha256").join(&m1)),
        "{removal:?}"
    );
    let left = blobs(&p.layout);
    assert!(!left.contains(&m1) && left.contains(&m2) && left.contains(&layer));
    assert!(skopeo(&p.layout, "v1").is_err(), "the tag is gone");
    let raw = skopeo(&p.layout, "v2").expect("the other tag reads");
    assert_eq!(sha256_bytes(&raw).hex(), m2);
    assert_eq!(std::fs::read(&p.v2.local_path).unwrap(), p.gguf);

    models.remove(&p.v2.id, true).unwrap();
    assert!(blobs(&p.layout).is_empty(), "nothing needs any blob now");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"], serde_json::json!([]));
    assert_eq!(index["schemaVersion"], 2);
    let other = p.other.local_path.ancestors().nth(3).unwrap();
    assert!(skopeo(other, "v1").is_ok(), "another layout is untouched");
}

#[test]
fn prune_keeps_a_pinned_tag_whole_and_frees_an_uncatalogued_manifest() {
    let Some(p) = pulled() else { return };
    let models = provisioner(p.cache.path(), RegistryAuth::anonymous());
    models.catalog().set_pinned(&p.v2.id, true).unwrap();
    // The catalog forgets `other`; its layout still holds it.
    models.remove(&p.other.id, false).unwrap();
    let report = models
        .prune(&PrunePolicy {
            max_size: Some(0),
            ..PrunePolicy::default()
        })
        .unwrap();
    assert_eq!(report.pinned, vec![p.v2.id.clone()]);
    assert_eq!(report.removed.len(), 2, "{report:?}");
    assert!(models.catalog().get(&p.v1.id).unwrap().is_none());
    assert!(skopeo(&p.layout, "v1").is_err());
    let raw = skopeo(&p.layout, "v2").expect("the pinned tag reads");
    assert_eq!(sha256_bytes(&raw).hex(), manifest_hex(&p.v2));
    assert_eq!(std::fs::read(&p.v2.local_path).unwrap(), p.gguf);

    let other = p.other.local_path.ancestors().nth(3).unwrap();
    assert!(blobs(other).is_empty(), "{:?}", blobs(other));
    assert!(skopeo(other, "v1").is_err());
    let scan = models.scan_cache().unwrap();
    assert_eq!(
        oci_problems(&scan, &p.cache.path().join("oci")),
        Vec::<String>::new()
    );
    assert_eq!(report.size_after, scan.oci_size_on_disk);
}
