"""``backbeat serve``: run the play-along web app."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the ``serve`` sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the browser play-along app",
        description="Serve the Backbeat web app: library, play-along with live judgments, results.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--db", type=Path, default=None,
                   help="SQLite database file (default DATA_DIR/backbeat.db)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where uploaded songs are kept "
                        "(default $BACKBEAT_DATA_DIR or ~/.local/share/backbeat)")
    p.add_argument("--no-demo", action="store_true", help="do not add the demo song to the library")
    p.add_argument("--max-upload-mb", type=float, default=200.0,
                   help="largest accepted upload in MB (default 200)")
    p.add_argument("--workers", type=int, default=1, help="processes for analysis and charting (default 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the server and block until interrupted."""
    from backbeat.web import server  # heavy (FastAPI, uvicorn): imported only to serve

    server.serve(host=args.host, port=args.port, db_path=args.db, data_dir=args.data_dir,
                 add_demo=not args.no_demo, max_upload_mb=args.max_upload_mb, workers=args.workers)
    return 0
