//! What the catalog keeps of an `oci://` pull: the registry, repository,
//! tag, manifest digest and every layer digest, against a real registry.

use crate::oci_support::{Registry, components_available, provisioner, tiny_gguf};
use model_provisioner::oci::RegistryAuth;
use model_provisioner::{OciRecord, sha256_bytes};

#[test]
fn an_oci_pull_records_registry_repository_tag_manifest_and_layers_in_order() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let (first, first_bytes) = tiny_gguf(work.path(), "tiny-00001-of-00002.gguf", 31);
    let (second, second_bytes) = tiny_gguf(work.path(), "tiny-00002-of-00002.gguf", 32);
    reg.push("fleet/tiny:q4", "docker", &[&first, &second]);
    let cache = tempfile::tempdir().unwrap();
    let models = provisioner(cache.path(), RegistryAuth::anonymous());
    let resolved = models
        .ensure_present_str(&reg.model_ref("fleet/tiny:q4"), None)
        .unwrap();
    let manifest = resolved.source.rsplit_once('@').unwrap().1.to_string();
    let row = models.catalog().get(&resolved.id).unwrap().unwrap();
    let layer = |b: &[u8]| format!("sha256:{}", sha256_bytes(b).hex());
    assert_eq!(
        row.oci,
        Some(OciRecord {
            registry: reg.host.clone(),
            repository: "fleet/tiny".into(),
            tag: Some("q4".into()),
            manifest_digest: manifest,
            layers: vec![layer(&first_bytes), layer(&second_bytes)],
        })
    );
}

#[test]
fn a_row_without_its_oci_record_gets_it_at_the_next_warm_ensure() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let (gguf, _) = tiny_gguf(work.path(), "m.gguf", 33);
    reg.push("fleet/old:v1", "modelpack", &[&gguf]);
    let cache = tempfile::tempdir().unwrap();
    let reference = reg.model_ref("fleet/old:v1");
    let first = provisioner(cache.path(), RegistryAuth::anonymous())
        .ensure_present_str(&reference, None)
        .unwrap();
    // As a row written before the catalog kept OCI records reads after
    // the migration: everything but the record.
    let db = rusqlite::Connection::open(cache.path().join("catalog.sqlite")).unwrap();
    db.execute("UPDATE models SET oci_json = NULL", []).unwrap();
    drop(db);
    let models = provisioner(cache.path(), RegistryAuth::anonymous());
    assert_eq!(models.catalog().get(&first.id).unwrap().unwrap().oci, None);
    models.ensure_present_str(&reference, None).unwrap();
    let row = models.catalog().get(&first.id).unwrap().unwrap();
    let record = row.oci.expect("the warm ensure records it");
    assert_eq!(record.repository, "fleet/old");
    assert_eq!(
        Some(record.manifest_digest.as_str()),
        first.source.rsplit_once('@').map(|(_, d)| d)
    );
}
