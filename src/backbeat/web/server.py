"""Run the web app under uvicorn (what ``backbeat serve`` calls)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from backbeat.core.errors import InvalidArgumentError
from backbeat.web.app import create_app
from backbeat.web.settings import ServerSettings, default_data_dir

#: Largest WebSocket frame uvicorn accepts (the app itself refuses messages over 4 KB).
WS_MAX_FRAME_BYTES = 64 * 1024


def serve(*, host: str = "127.0.0.1", port: int = 8000, db_path: Path | None = None,
          data_dir: Path | None = None, add_demo: bool = True, max_upload_mb: float = 200.0,
          workers: int = 1) -> None:
    """Serve the app until interrupted; prints the URL first.

    Raises
    ------
    InvalidArgumentError
        On a bad option (upload limit, missing database folder).
    """
    import uvicorn

    if max_upload_mb <= 0:
        raise InvalidArgumentError(f"--max-upload-mb must be positive, got {max_upload_mb}")
    if db_path is not None and not db_path.parent.is_dir():
        raise InvalidArgumentError(f"{db_path}: folder {db_path.parent} does not exist")
    settings = ServerSettings(
        data_dir=data_dir or default_data_dir(), db_path=db_path, host=host, port=port,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024), add_demo=add_demo, workers=workers,
    )
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, ws_max_size=WS_MAX_FRAME_BYTES,
                            ws_per_message_deflate=False, ws=os.environ.get("BACKBEAT_WS_IMPL", "auto"),
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    # Bind first, so that the printed URL is right even for --port 0 and a busy port fails clearly.
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        raise InvalidArgumentError(
            f"cannot listen on {settings.host}:{settings.port} ({exc.strerror})") from None
    port = sock.getsockname()[1]
    shown = settings.host if settings.host not in ("0.0.0.0", "::") else "localhost"
    if ":" in shown:
        shown = f"[{shown}]"
    print(f"Backbeat is playing at http://{shown}:{port}/  (Ctrl+C to stop)", flush=True)
    server.run(sockets=[sock])
