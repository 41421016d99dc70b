"""The real huggingface_hub client against an endpoint: its recursive tree listing of a repo
(or folder) and a snapshot_download of it into a folder, printed as JSON. Used by
hub-compat.test.ts to show test/artifact/hub-server.ts answers as the Hub does.

usage: hub_client.py ENDPOINT REPO REVISION CA_FILE OUT_DIR [PATH_IN_REPO]  (token from HF_TOKEN)
"""
import json
import os
import ssl
import sys

import httpx2
from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.utils import set_client_factory

endpoint, repo, revision, ca_file, out_dir = sys.argv[1:6]
folder = sys.argv[6] if len(sys.argv) > 6 else None
token = os.environ.get("HF_TOKEN") or None

# The server's certificate is the test's own; everything else is the client's default.
context = ssl.create_default_context(cafile=ca_file)
set_client_factory(lambda: httpx2.Client(verify=context, follow_redirects=True, timeout=None))

api = HfApi(endpoint=endpoint, token=token)
tree = [
    {
        "type": "file" if hasattr(e, "blob_id") else "directory",
        "path": e.path,
        "size": getattr(e, "size", None),
        "lfs_sha256": e.lfs.sha256 if getattr(e, "lfs", None) is not None else None,
    }
    for e in api.list_repo_tree(repo, path_in_repo=folder, revision=revision, recursive=True)
]
local = snapshot_download(
    repo,
    revision=revision,
    endpoint=endpoint,
    token=token,
    local_dir=out_dir,
    allow_patterns=None if folder is None else [f"{folder}/*"],
)
print(json.dumps({"tree": tree, "local_dir": local}))
