"""Push a GGUF to a registry as a model artifact, with the oras client.

usage: push.py HOST:PORT REPO:TAG FORMAT [--user U --password P] FILE...
FORMAT: docker | modelpack | ollama | tar (an artifact that is no model).
"""
import argparse, hashlib, json, os, sys, tempfile
import oras.client, oras.container, oras.oci

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"

p = argparse.ArgumentParser()
p.add_argument("registry")
p.add_argument("target")
p.add_argument("format")
p.add_argument("--user")
p.add_argument("--password")
p.add_argument("files", nargs="+")
a = p.parse_args()

c = oras.client.OrasClient(hostname=a.registry, insecure=True,
                           auth_backend="basic" if a.user else "token")
if a.user:
    c.auth.set_basic_auth(a.user, a.password)
tmp = tempfile.mkdtemp()
target = f"{a.registry}/{a.target}"

def config(media, body):
    path = os.path.join(tmp, "config.json")
    with open(path, "w") as f:
        json.dump(body, f)
    return f"{path}:{media}"

if a.format in ("docker", "modelpack", "tar"):
    if a.format == "docker":
        layer = "application/vnd.docker.ai.gguf.v3"
        cfg = config("application/vnd.docker.ai.model.config.v0.1+json",
                     {"config": {"format": "gguf"}, "descriptor": {}})
    elif a.format == "modelpack":
        layer = "application/vnd.cncf.model.weight.v1.raw"
        cfg = config("application/vnd.cncf.model.config.v1+json",
                     {"descriptor": {}, "config": {"format": "gguf"}, "modelfs": {}})
    else:
        layer = "application/x-tar"
        cfg = config("application/vnd.oci.image.config.v1+json", {})
    annotations = {os.path.abspath(f): {"org.cncf.model.filepath": os.path.basename(f)}
                   for f in a.files} if a.format == "modelpack" else {}
    ann = os.path.join(tmp, "annotations.json")
    with open(ann, "w") as f:
        json.dump(annotations, f)
    c.push(target=target, files=[f"{f}:{layer}" for f in a.files],
           manifest_config=cfg, annotation_file=ann, disable_path_validation=True)
elif a.format == "ollama":
    container = oras.container.Container(target)
    layers = []
    for f in a.files:
        layer = oras.oci.NewLayer(f, media_type="application/vnd.ollama.image.model")
        c.upload_blob(f, container, layer).raise_for_status()
        layers.append({k: layer[k] for k in ("mediaType", "digest", "size")})
    cfg_path = os.path.join(tmp, "config.json")
    with open(cfg_path, "w") as f:
        json.dump({"model_format": "gguf", "model_family": "llama"}, f)
    conf = oras.oci.NewLayer(cfg_path, media_type="application/vnd.docker.container.image.v1+json")
    c.upload_blob(cfg_path, container, conf).raise_for_status()
    manifest = {"schemaVersion": 2, "mediaType": DOCKER_V2,
                "config": {k: conf[k] for k in ("mediaType", "digest", "size")},
                "layers": layers}
    r = c.do_request(f"http://{container.manifest_url()}", "PUT",
                     headers={"Content-Type": DOCKER_V2}, data=json.dumps(manifest).encode())
    r.raise_for_status()
else:
    sys.exit(f"unknown format {a.format}")
