//! The bearer-token challenge against a loopback registry stand-in with
//! its token service and blob storage on other origins: the token goes to
//! the registry only, never to storage, and never into a narration.

use crate::oci_support::{provisioner, tiny_gguf};
use model_provisioner::oci::RegistryAuth;
use model_provisioner::sha256_bytes;
use narration_core::CaptureAdapter;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "tok-SECRET-4242";

/// One loopback origin: answers with `handler`, keeps every request head.
struct Origin {
    addr: String,
    heads: Arc<Mutex<Vec<String>>>,
}

type Reply = (u16, Vec<(String, String)>, Vec<u8>);

impl Origin {
    fn start(handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        let handler = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, handler) = (seen.clone(), handler.clone());
                std::thread::spawn(move || serve(stream, &seen, handler.as_ref()));
            }
        });
        Self { addr, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<String>>, handler: &dyn Fn(&str) -> Reply) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    // A request body (the realm's refresh-token form) follows the head.
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 16)];
    if std::io::Read::read_exact(&mut reader, &mut body).is_ok() {
        head.push_str(&String::from_utf8_lossy(&body));
    }
    seen.lock().unwrap().push(head.clone());
    let (status, headers, body) = handler(&head);
    let mut out = stream;
    let mut text = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    let _ = out.write_all(text.as_bytes());
    let _ = out.write_all(&body);
}

fn has_header(head: &str, name: &str) -> bool {
    head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with(&format!("{}:", name.to_ascii_lowercase()))
    })
}

#[test]
fn a_bearer_token_is_fetched_from_the_realm_and_sent_to_the_registry_only() {
    let work = tempfile::tempdir().unwrap();
    let (_, bytes) = tiny_gguf(work.path(), "m.gguf", 9);
    let layer = sha256_bytes(&bytes);
    let config = b"{\"config\":{\"format\":\"gguf\"}}".to_vec();
    let config_digest = sha256_bytes(&config);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.docker.ai.model.config.v0.1+json","digest":"sha256:{}","size":{}}},"layers":[{{"mediaType":"application/vnd.docker.ai.gguf.v3","digest":"sha256:{}","size":{}}}]}}"#,
        config_digest.hex(),
        config.len(),
        layer.hex(),
        bytes.len()
    )
    .into_bytes();
    let manifest_digest = sha256_bytes(&manifest);

    let blob = bytes.clone();
    let storage = Origin::start(move |_| (200, vec![], blob.clone()));
    let token_service = Origin::start(|_| {
        (
            200,
            vec![],
            format!(r#"{{"token":"{TOKEN}"}}"#).into_bytes(),
        )
    });
    let (storage_addr, realm) = (
        storage.addr.clone(),
        format!("http://{}/token", token_service.addr),
    );
    let registry = Origin::start(move |head| {
        let bearer = format!("authorization: bearer {}", TOKEN.to_ascii_lowercase());
        if !head
            .to_ascii_lowercase()
            .lines()
            .any(|l| l.trim() == bearer)
        {
            let challenge =
                format!(r#"Bearer realm="{realm}",service="reg",scope="repository:ai/m:pull""#);
            return (
                401,
                vec![("WWW-Authenticate".into(), challenge)],
                b"{}".to_vec(),
            );
        }
        if head.contains("/manifests/") {
            let digest = format!("sha256:{}", manifest_digest.hex());
            return (
                200,
                vec![
                    (
                        "Content-Type".into(),
                        "application/vnd.oci.image.manifest.v1+json".into(),
                    ),
                    ("Docker-Content-Digest".into(), digest),
                ],
                manifest.clone(),
            );
        }
        if head.contains(&config_digest.hex()) {
            return (200, vec![], config.clone());
        }
        let location = format!("http://{storage_addr}/blob/{}?sig=abc", layer.hex());
        (307, vec![("Location".into(), location)], vec![])
    });

    let cache = tempfile::tempdir().unwrap();
    let capture = CaptureAdapter::install();
    let resolved = provisioner(cache.path(), RegistryAuth::anonymous())
        .ensure_present_str(&format!("oci://{}/ai/m:v1", registry.addr), None)
        .unwrap();
    assert_eq!(std::fs::read(&resolved.local_path).unwrap(), bytes);

    let registry_heads = registry.heads();
    assert!(
        registry_heads.iter().any(|h| h.contains(TOKEN)),
        "{registry_heads:?}"
    );
    let token_heads = token_service.heads();
    assert_eq!(token_heads.len(), 1, "{token_heads:?}");
    assert!(
        token_heads[0].contains("scope=repository%3Aai%2Fm%3Apull"),
        "{token_heads:?}"
    );
    assert!(!token_heads[0].contains(TOKEN));
    let storage_heads = storage.heads();
    assert_eq!(storage_heads.len(), 1, "{storage_heads:?}");
    assert!(
        !has_header(&storage_heads[0], "authorization"),
        "{storage_heads:?}"
    );
    for n in capture.captured() {
        assert!(!format!("{n:?}").contains(TOKEN), "{n:?}");
    }
}

const REFRESH: &str = "rt-SECRET-7373";
const ACCESS: &str = "at-SECRET-5151";

#[test]
fn an_identity_token_from_a_credential_helper_goes_to_the_realm_only_as_a_refresh_grant() {
    use std::os::unix::fs::PermissionsExt;
    let work = tempfile::tempdir().unwrap();
    let (_, bytes) = tiny_gguf(work.path(), "m.gguf", 10);
    let layer = sha256_bytes(&bytes);
    let config = b"{}".to_vec();
    let config_digest = sha256_bytes(&config);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.docker.ai.model.config.v0.1+json","digest":"sha256:{}","size":{}}},"layers":[{{"mediaType":"application/vnd.docker.ai.gguf.v3","digest":"sha256:{}","size":{}}}]}}"#,
        config_digest.hex(),
        config.len(),
        layer.hex(),
        bytes.len()
    )
    .into_bytes();
    let manifest_digest = sha256_bytes(&manifest);

    // The realm grants an access token for the refresh token only.
    let token_service = Origin::start(|request| {
        let granted = request.starts_with("POST ")
            && request.contains("grant_type=refresh_token")
            && request.contains(&format!("refresh_token={REFRESH}"))
            && request.contains("scope=repository%3Aai%2Fm%3Apull");
        if granted {
            let body = format!(r#"{{"access_token":"{ACCESS}"}}"#);
            (200, vec![], body.into_bytes())
        } else {
            (401, vec![], b"{}".to_vec())
        }
    });
    let realm = format!("http://{}/token", token_service.addr);
    let blob = bytes.clone();
    let registry = Origin::start(move |head| {
        let bearer = format!("authorization: bearer {}", ACCESS.to_ascii_lowercase());
        if !head
            .to_ascii_lowercase()
            .lines()
            .any(|l| l.trim() == bearer)
        {
            let challenge =
                format!(r#"Bearer realm="{realm}",service="reg",scope="repository:ai/m:pull""#);
            return (401, vec![("WWW-Authenticate".into(), challenge)], vec![]);
        }
        if head.contains("/manifests/") {
            let digest = format!("sha256:{}", manifest_digest.hex());
            let kind = "application/vnd.oci.image.manifest.v1+json".to_string();
            return (
                200,
                vec![
                    ("Content-Type".into(), kind),
                    ("Docker-Content-Digest".into(), digest),
                ],
                manifest.clone(),
            );
        }
        if head.contains(&config_digest.hex()) {
            return (200, vec![], config.clone());
        }
        (200, vec![], blob.clone())
    });

    // A real helper process, found on the PATH the auth settings carry.
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-idtok");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread -r _ || true\nprintf '{{\"Username\":\"<token>\",\"Secret\":\"{REFRESH}\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let docker_config = work.path().join("config.json");
    std::fs::write(&docker_config, r#"{"credsStore":"idtok"}"#).unwrap();
    let auth = RegistryAuth::from_file(&docker_config).with_helper_path(&bin);

    let cache = tempfile::tempdir().unwrap();
    let capture = CaptureAdapter::install();
    let resolved = provisioner(cache.path(), auth)
        .ensure_present_str(&format!("oci://{}/ai/m:v1", registry.addr), None)
        .unwrap();
    assert_eq!(std::fs::read(&resolved.local_path).unwrap(), bytes);
    let asked = token_service.heads();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        !has_header(&asked[0], "authorization"),
        "an identity token is no Basic credential: {asked:?}"
    );
    for head in registry.heads() {
        assert!(
            !head.contains(REFRESH),
            "the refresh token stays with the realm: {head}"
        );
    }
    for n in capture.captured() {
        let text = format!("{n:?}");
        assert!(!text.contains(REFRESH) && !text.contains(ACCESS), "{n:?}");
    }
}
