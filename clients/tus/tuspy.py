"""Uploads one file with the stock tuspy client, sha1 checksums on: a chunk cut
halfway is dropped by the server, and tuspy's retry resumes from the offset a HEAD
reports. Prints one JSON line: the upload URL, the photo id from the last PATCH,
and each offset HEAD answered.
usage: python tuspy.py ENDPOINT TOKEN FILE CHUNK_BYTES"""
import json
import os
import sys

from tusclient import client

endpoint, token, path, chunk = sys.argv[1:5]
tus = client.TusClient(endpoint, headers={"Authorization": f"Bearer {token}"})
uploader = tus.uploader(
    path,
    chunk_size=int(chunk),
    metadata={"filename": os.path.basename(path), "description": "sent by tuspy", "tags": "tus,python"},
    retries=5,
    retry_delay=0.2,
    upload_checksum=True,
)
heads = []
ask = uploader.get_offset


def get_offset():
    offset = ask()
    heads.append(offset)
    return offset


uploader.get_offset = get_offset
uploader.upload()
photo_id = uploader.request.response_headers.get("photoshare-photo-id")
print(json.dumps({"url": uploader.url, "photo_id": photo_id, "resumed_from": heads}))
