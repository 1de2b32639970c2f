"""boto3 vs obstore (and annotask's S3Storage over boto3) against a local S3 server.

    .venv/bin/pip install obstore          # not a dependency: only measured here
    .venv/bin/python bench/storage_clients.py [--mib 64] [--reads 200] [--repeat 3]

Starts moto's S3 server on 127.0.0.1 as a process of its own and measures, for
each client: uploading a file of ``--mib`` MiB (8 MiB parts, 4 at once),
downloading it whole as a stream, and ``--reads`` ranged reads of 256 KiB at
random offsets. Prints the median of ``--repeat`` runs. The server is moto (pure
Python), so absolute figures mostly measure it; the ratios between clients are
what this is for.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.s3_server import ACCESS_KEY, REGION, SECRET_KEY, start_s3_server  # noqa: E402

MiB = 1024 * 1024
PART = 8 * MiB
RANGE = 256 * 1024


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import boto3
    from boto3.s3.transfer import TransferConfig

    from annotask.storage.s3 import S3Storage

    with tempfile.TemporaryDirectory() as tmp:
        server = start_s3_server(Path(tmp))
        try:
            client = server.client()
            bucket = server.new_bucket()
            source = Path(tmp) / "source.bin"
            source.write_bytes(os.urandom(args.mib * MiB))
            size = source.stat().st_size
            rng = random.Random(1)
            offsets = [rng.randrange(0, size - RANGE) for _ in range(args.reads)]
            transfer = TransferConfig(
                multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4
            )
            ours = S3Storage(
                bucket, "ours", endpoint_url=server.endpoint, region=REGION,
                access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, part_bytes=PART,
            )
            clients = {}

            def boto_up():
                client.upload_file(str(source), bucket, "boto/obj", Config=transfer)

            def boto_down():
                body = client.get_object(Bucket=bucket, Key="boto/obj")["Body"]
                while body.read(MiB):
                    pass

            def boto_ranges():
                for o in offsets:
                    r = f"bytes={o}-{o + RANGE - 1}"
                    client.get_object(Bucket=bucket, Key="boto/obj", Range=r)["Body"].read()

            clients["boto3"] = (boto_up, boto_down, boto_ranges)

            def ours_up():
                ours.write_file("obj", source)

            def ours_down():
                with ours.open("obj") as stream:
                    while stream.read(MiB):
                        pass

            def ours_ranges():
                for o in offsets:
                    with ours.open("obj", o, RANGE) as stream:
                        stream.read()

            clients["annotask S3Storage"] = (ours_up, ours_down, ours_ranges)

            try:
                import obstore
                from obstore.store import S3Store
            except ImportError:
                print("obstore is not installed: measuring boto3 only")
            else:
                store = S3Store(
                    bucket,
                    endpoint=server.endpoint,
                    access_key_id=ACCESS_KEY,
                    secret_access_key=SECRET_KEY,
                    region=REGION,
                    client_options={"allow_http": True},
                )

                def obs_up():
                    obstore.put(store, "obs/obj", source, chunk_size=PART, max_concurrency=4)

                def obs_down():
                    for _ in obstore.get(store, "obs/obj").stream(min_chunk_size=MiB):
                        pass

                def obs_ranges():
                    for o in offsets:
                        bytes(obstore.get_range(store, "obs/obj", start=o, length=RANGE))

                clients["obstore"] = (obs_up, obs_down, obs_ranges)

            _ = boto3  # imported above to fail early when missing
            print(f"object {args.mib} MiB, {args.reads} ranged reads of 256 KiB, "
                  f"median of {args.repeat}")
            print("| client | upload MiB/s | download MiB/s | ranged reads/s |")
            print("|---|---|---|---|")
            for name, (up, down, ranges) in clients.items():
                ups, downs, reads = [], [], []
                for _ in range(args.repeat):
                    ups.append(timed(up))
                    downs.append(timed(down))
                    reads.append(timed(ranges))
                mb = size / MiB
                print(
                    f"| {name} | {mb / statistics.median(ups):.0f} | "
                    f"{mb / statistics.median(downs):.0f} | "
                    f"{args.reads / statistics.median(reads):.0f} |"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
